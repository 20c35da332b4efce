// The one line `kubectl get opol` shows for a policy's pools: pure.

/** status.summary's bound in the schema. */
export const SUMMARY_MAX = 1024;

export interface PoolSize {
  name: string;
  current: number;
  desired: number;
}

/**
 * Each pool as `name current/desired`, joined with commas. 32 pools with names of 63
 * characters would pass the schema's 1,024 characters, and the API server would refuse
 * the whole status: the pools that do not fit are counted at the end instead.
 */
export function poolSummary(pools: readonly PoolSize[], max = SUMMARY_MAX): string {
  const parts = pools.map((p) => `${p.name} ${p.current}/${p.desired}`);
  const all = parts.join(', ');
  if (all.length <= max) return all;
  for (let shown = parts.length - 1; shown >= 0; shown--) {
    const line = [...parts.slice(0, shown), `… (${parts.length - shown} more)`].join(', ');
    if (line.length <= max) return line;
  }
  return `${pools.length} pools`.slice(0, max);
}
