// The fault schedule of a chaos run: a pure function of the seed, so a seed replays the
// same faults at the same offsets on the same targets (what the system makes of them may
// still differ: the plane's timing is not seeded).

export const FAULT_KINDS = [
  'operator-kill',
  'leader-kill',
  'apiserver-restart',
  'etcd-restart',
  'dockerd-restart',
  'container-kill',
  'pod-delete',
  'runner-freeze',
  'network-loss',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** Seconds after the load starts (a fault waits for the one before it to recover). */
  atS: number;
  kind: FaultKind;
  /** Which agent of its kind's pool (an index, taken modulo the pool's size). */
  target: number;
  /** How long the outage lasts, for faults that end on their own (operator down, freeze, cut). */
  outageS: number;
}

/** mulberry32: a small, fast PRNG with a 32-bit state; enough to spread faults. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many of each fault: the long form's counts, or one of each in the bounded form. */
export function faultCounts(bounded: boolean): Record<FaultKind, number> {
  if (bounded) return Object.fromEntries(FAULT_KINDS.map((k) => [k, 1])) as Record<FaultKind, number>;
  return {
    'operator-kill': 5,
    'leader-kill': 2,
    'apiserver-restart': 1,
    'etcd-restart': 1,
    'dockerd-restart': 1,
    'container-kill': 2,
    'pod-delete': 2,
    'runner-freeze': 2,
    'network-loss': 2,
  };
}

export interface ScheduleOptions {
  seed: number;
  durationS: number;
  bounded: boolean;
  /** The agents' heartbeat timeout: a freeze or a cut must outlast it. */
  heartbeatTimeoutS: number;
  /** Load without faults at the start and the end (the system warms up, then drains). */
  quietS: number;
}

/**
 * The faults in a shuffled order, one to a slot of the faulty middle of the run, each at a
 * random point of the first half of its slot (so a fault has the rest to recover in).
 */
export function planFaults(o: ScheduleOptions): PlannedFault[] {
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`seed: ${o.seed} must be a whole number >= 0`);
  const window = o.durationS - 2 * o.quietS;
  const counts = faultCounts(o.bounded);
  const kinds = FAULT_KINDS.flatMap((k) => Array.from({ length: counts[k] }, () => k));
  if (window < kinds.length * 5)
    throw new Error(
      `duration: ${o.durationS} s leaves ${window} s for ${kinds.length} faults; give at least ${2 * o.quietS + kinds.length * 5}`,
    );
  const random = prng(o.seed);
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  const slot = window / kinds.length;
  return kinds.map((kind, i) => ({
    atS: Math.round((o.quietS + i * slot + random() * slot * 0.5) * 10) / 10,
    kind,
    target: Math.floor(random() * 1000),
    outageS: Math.round(outage(kind, o.heartbeatTimeoutS, random()) * 10) / 10,
  }));
}

function outage(kind: FaultKind, heartbeatTimeoutS: number, r: number): number {
  switch (kind) {
    case 'operator-kill':
      return 1 + r * 4;
    case 'runner-freeze':
    case 'network-loss':
      // Past the heartbeat timeout, so the operator hands the attempts back meanwhile.
      return heartbeatTimeoutS * (1.5 + r);
    default:
      return 0;
  }
}
