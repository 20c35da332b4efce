import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../api/agent.ts';
import { REVIEW_FAILED, agentReviewsOf, reviewAgent, type AgentReview } from './agent-review.ts';
import { definePlugin, type Plugin } from './plugin.ts';

const a = agent.parse({ spec: { runtime: { type: 'kubernetes', image: 'x' } } });
const reviewing = (name: string, review: Omit<AgentReview, 'reason'>): Plugin =>
  definePlugin({
    name,
    config: z.strictObject({}),
    settings: z.strictObject({ on: z.boolean().default(true) }),
    agentReview: (s) => (s.on ? { reason: `${name}Policy`, ...review } : undefined),
  });
const violating = (field: string, enforcement: AgentReview['enforcement'] = 'Deny'): Plugin =>
  reviewing(field, { enforcement, review: () => [{ field, message: `${field}: no` }] });

describe('agent reviews', () => {
  it('admits an Agent no review objects to', () => {
    const { reviews } = agentReviewsOf([reviewing('ok', { enforcement: 'Deny', review: () => [] })], {});
    expect(reviewAgent(reviews, a)).toEqual({ denied: false, reason: '', message: '', violations: [] });
  });

  it('joins every plugin’s violations, naming the plugin; the first plugin’s reason leads', () => {
    const { reviews } = agentReviewsOf([violating('one', 'Warn'), violating('two')], {});
    expect(reviewAgent(reviews, a)).toEqual({
      denied: true,
      reason: 'onePolicy',
      message: 'one: no (plugin one); two: no (plugin two)',
      violations: [
        { field: 'one', message: 'one: no', plugin: 'one' },
        { field: 'two', message: 'two: no', plugin: 'two' },
      ],
    });
  });

  it('only warns when every plugin that objects warns', () => {
    const { reviews } = agentReviewsOf([violating('one', 'Warn')], {});
    expect(reviewAgent(reviews, a).denied).toBe(false);
    expect(reviewAgent(reviews, a).message).toBe('one: no (plugin one)');
  });

  it('denies when a review throws: an unchecked spec does not start', () => {
    const broken = reviewing('broken', {
      enforcement: 'Warn',
      review: () => {
        throw new Error('boom');
      },
    });
    const verdict = reviewAgent(agentReviewsOf([broken], {}).reviews, a);
    expect(verdict).toMatchObject({
      denied: true,
      reason: REVIEW_FAILED,
      message: 'the broken plugin could not review the Agent: boom (plugin broken)',
    });
  });

  it('builds no review a plugin’s settings turn off, and names a bad setting by its path', () => {
    expect(agentReviewsOf([violating('one')], { one: { on: false } }).reviews.plugins).toEqual([]);
    expect(agentReviewsOf([violating('one')], { one: { on: 'no' } }).errors).toEqual([
      'one.on: Invalid input: expected boolean, received string',
    ]);
  });
});
