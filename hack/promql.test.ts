import { describe, expect, it } from 'vitest';
import { metricNames } from './promql.ts';

describe('metricNames', () => {
  it.each([
    ['a selector', 'up{job="x"}', ['up']],
    [
      'functions, aggregations with by, a Grafana variable and interval',
      'histogram_quantile(0.99, sum by (le, namespace) (rate(a_seconds_bucket{namespace=~"$namespace"}[$__rate_interval])))',
      ['a_seconds_bucket'],
    ],
    [
      'a binary operator between two metrics, with bool and offset',
      'sum(rate(b_total[5m] offset 1h)) / on (pod) group_left (node) c_info > bool 0.5',
      ['b_total', 'c_info'],
    ],
    ['absent over a comparison', 'absent(leader_election_master_status{name="n"} == 1)', ['leader_election_master_status']],
    ['label values and durations that look like names', 'max without (le) (d{phase="Failed", le="1e3"}) and e[1h30m:1m]', ['d', 'e']],
    ['a number in exponent form', 'f > 1.5e3', ['f']],
  ])('%s', (_case, expr, names) => {
    expect(metricNames(expr).sort()).toEqual(names);
  });
});
