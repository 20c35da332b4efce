// One OrchestratorPolicy governs a namespace. With several, the oldest wins (then the
// first by name), the rule every reader of policies applies, so the task controller and
// the policy controller can never disagree on which one is in force.

export interface PolicyRef {
  name: string;
  /** metadata.creationTimestamp in ms. */
  createdAt: number;
}

export function governingPolicy<P extends PolicyRef>(policies: readonly P[]): P | undefined {
  let best: P | undefined;
  for (const p of policies) {
    if (best === undefined || p.createdAt < best.createdAt || (p.createdAt === best.createdAt && p.name < best.name)) best = p;
  }
  return best;
}
