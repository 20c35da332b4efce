// Schedule windows as pure functions of an instant: whether a window is open at `now`,
// when it next opens or closes, and what to tell the autoscaler and the people reading
// the policy. Cron expressions are evaluated by croner in the window's IANA time zone, so
// "0 8 * * 1-5" in Europe/Berlin is 08:00 local on both sides of a daylight-saving change.
import { Cron } from 'croner';
import type { Intent, NamespaceSnapshot } from '../../operator/src/framework/index.ts';
import { CRON_MODE, type ScheduleConfig } from './config.ts';

export interface Window {
  readonly name: string;
  readonly pool: string;
  readonly timeZone: string;
  readonly minAwake?: number | undefined;
  readonly maxAwake?: number | undefined;
  readonly start: Cron;
  readonly end?: Cron | undefined;
  readonly durationMs?: number | undefined;
}

export interface WindowState {
  readonly open: boolean;
  /** When the window next closes (open) or opens (closed); undefined if it never will. */
  readonly next?: number | undefined;
}

/** A validated schedule, with its cron expressions parsed once. */
export function compileWindow(s: ScheduleConfig): Window {
  const cron = (pattern: string): Cron => new Cron(pattern, { timezone: s.timeZone, mode: CRON_MODE });
  return {
    name: s.name,
    pool: s.pool,
    timeZone: s.timeZone,
    minAwake: s.minAwake,
    maxAwake: s.maxAwake,
    start: cron(s.start),
    end: s.end === undefined ? undefined : cron(s.end),
    durationMs: s.durationSeconds === undefined ? undefined : s.durationSeconds * 1000,
  };
}

/** The last run at or before `t`. */
export function lastRun(cron: Cron, t: number): number | undefined {
  // croner counts a run earlier in the reference's second, so t + 1 ms includes t itself.
  return cron.previousRuns(1, new Date(t + 1))[0]?.getTime();
}

/** The first run after `t`. */
export function nextRun(cron: Cron, t: number): number | undefined {
  return cron.nextRun(new Date(t))?.getTime();
}

/** Starts that come while a duration window is open keep it open; past this many, the close is looked at again then. */
const MAX_EXTENSIONS = 64;

/**
 * Whether the window is open at `now`. With `end`: open when the last start is later than
 * the last end (a start and an end at the same instant leave it closed). With
 * `durationSeconds`: open for that long after each start.
 */
export function windowState(w: Window, now: number): WindowState {
  const lastStart = lastRun(w.start, now);
  if (w.durationMs !== undefined) {
    if (lastStart === undefined || now >= lastStart + w.durationMs) return { open: false, next: nextRun(w.start, now) };
    let closes = lastStart + w.durationMs;
    let from = now;
    for (let i = 0; i < MAX_EXTENSIONS; i++) {
      const start = nextRun(w.start, from);
      if (start === undefined || start > closes) break;
      closes = start + w.durationMs;
      from = start;
    }
    return { open: true, next: closes };
  }
  const lastEnd = w.end === undefined ? undefined : lastRun(w.end, now);
  const open = lastStart !== undefined && (lastEnd === undefined || lastStart > lastEnd);
  if (open) return { open, next: w.end === undefined ? undefined : nextRun(w.end, now) };
  // The next start that opens the window: one whose end falls on the same instant (both
  // times in a daylight-saving gap, moved to the same minute after it) never opens.
  let from = now;
  for (let i = 0; i < MAX_EXTENSIONS; i++) {
    const start = nextRun(w.start, from);
    if (start === undefined || w.end === undefined || (lastRun(w.end, start) ?? -Infinity) < start) return { open, next: start };
    from = start;
  }
  return { open, next: nextRun(w.start, from) };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsIn(ms: number, timeZone: string): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string> {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { year: p.year ?? '', month: p.month ?? '', day: p.day ?? '', hour: p.hour ?? '', minute: p.minute ?? '', second: p.second ?? '' };
}

/**
 * An instant as a person in the window's time zone reads it: "20:00 Europe/Berlin" on the
 * same day as `now`, "2025-03-31 08:00 Europe/Berlin" on another; seconds only when set.
 * It names the instant, not the time left, so it reads the same from one look to the next.
 */
export function localTime(ms: number, now: number, timeZone: string): string {
  const at = partsIn(ms, timeZone);
  const today = partsIn(now, timeZone);
  const time = `${at.hour}:${at.minute}${at.second === '00' ? '' : `:${at.second}`}`;
  const sameDay = at.year === today.year && at.month === today.month && at.day === today.day;
  return `${sameDay ? '' : `${at.year}-${at.month}-${at.day} `}${time} ${timeZone}`;
}

export function describeBounds(w: Pick<Window, 'minAwake' | 'maxAwake'>): string {
  const { minAwake: min, maxAwake: max } = w;
  if (min !== undefined && max !== undefined) return min === max ? `exactly ${min} awake` : `between ${min} and ${max} awake`;
  if (min !== undefined) return `at least ${min} awake`;
  return `at most ${max ?? 0} awake`;
}

/** What a window holds the pool to while it is open, as the pool intent's reason. */
export function boundsReason(w: Window, state: WindowState, now: number): string {
  const until = state.next === undefined ? 'until further notice' : `until ${localTime(state.next, now, w.timeZone)}`;
  return `schedule ${w.name}: ${describeBounds(w)} ${until}`;
}

/** The policy condition that shows every window and keeps what the plugin last announced. */
export const SCHEDULES_CONDITION = 'Schedules';

type Announced = ReadonlyMap<string, 'open' | 'closed' | 'unmatched'>;

/** The state of each window as the Schedules condition's message last said it. */
export function announced(message: string | undefined): Announced {
  const states = new Map<string, 'open' | 'closed' | 'unmatched'>();
  for (const part of (message ?? '').split('; ')) {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?) (open|closed|unmatched):/.exec(part);
    if (m?.[1] !== undefined && (m[3] === 'open' || m[3] === 'closed' || m[3] === 'unmatched')) states.set(m[1], m[3]);
  }
  return states;
}

/** A tick's look a little after an edge: a timer that fires a hair early would see the old state. */
const EDGE_MARGIN_MS = 20;

/**
 * The intents of the schedules at `snapshot.now`: a pool intent for every open window of
 * a pool the policy has, the Schedules condition on the policy (every window's state and
 * next edge), an Event for every window whose state changed since the condition last
 * said (so one per transition, also across operator restarts), a gauge per window, and a
 * look again at the next edge.
 */
export function scheduleIntents(windows: readonly Window[], snapshot: NamespaceSnapshot): Intent[] {
  const policy = snapshot.policy;
  if (policy === undefined) return [];
  const now = snapshot.now;
  const target = { kind: 'OrchestratorPolicy', name: policy.metadata.name } as const;
  const previous = policy.status?.conditions?.find((c) => c.type === SCHEDULES_CONDITION);
  if (windows.length === 0) {
    if (previous === undefined || previous.reason === 'NoSchedules') return [];
    return [
      {
        kind: 'condition',
        target,
        condition: {
          type: SCHEDULES_CONDITION,
          status: 'False',
          reason: 'NoSchedules',
          message: 'no schedules in spec.plugins.automation',
        },
      },
    ];
  }

  const pools = new Set((policy.spec.autoscaling?.pools ?? []).map((p) => p.name));
  const before = announced(previous?.message);
  const intents: Intent[] = [];
  const parts: string[] = [];
  const events: Intent[] = [];
  let nextEdge: number | undefined;
  let anyOpen = false;
  for (const w of windows) {
    const state = windowState(w, now);
    if (state.next !== undefined) nextEdge = Math.min(nextEdge ?? Infinity, state.next);
    const when = state.next === undefined ? undefined : localTime(state.next, now, w.timeZone);
    let word: 'open' | 'closed' | 'unmatched';
    if (!pools.has(w.pool)) {
      word = 'unmatched';
      parts.push(`${w.name} unmatched: pool ${w.pool} is not in spec.autoscaling.pools`);
    } else if (state.open) {
      word = 'open';
      anyOpen = true;
      const reason = boundsReason(w, state, now);
      intents.push({
        kind: 'pool',
        pool: w.pool,
        ...(w.minAwake !== undefined ? { minAwake: w.minAwake } : {}),
        ...(w.maxAwake !== undefined ? { maxAwake: w.maxAwake } : {}),
        reason,
      });
      parts.push(
        `${w.name} open: pool ${w.pool} keeps ${describeBounds(w)} ${when === undefined ? 'until further notice' : `until ${when}`}`,
      );
    } else {
      word = 'closed';
      parts.push(`${w.name} closed: ${when === undefined ? 'does not open again' : `opens at ${when}`}`);
    }
    intents.push({
      kind: 'metric',
      name: 'automation_schedule_open',
      help: 'Schedule windows of the automation plugin: 1 open, 0 closed',
      labels: { schedule: w.name, pool: w.pool },
      value: word === 'open' ? 1 : 0,
    });
    const was = before.get(w.name);
    if (word === was || (was === undefined && word === 'closed')) continue;
    if (word === 'unmatched') {
      events.push({
        kind: 'event',
        target,
        type: 'Warning',
        reason: 'ScheduleUnmatched',
        message: `schedule ${w.name} names pool ${w.pool}, which is not in spec.autoscaling.pools: it bounds nothing`,
      });
    } else if (word === 'open') {
      events.push({
        kind: 'event',
        target,
        type: 'Normal',
        reason: 'ScheduleOpened',
        message: `schedule ${w.name} opened: pool ${w.pool} keeps ${describeBounds(w)} ${when === undefined ? 'until further notice' : `until ${when}`}`,
      });
    } else {
      events.push({
        kind: 'event',
        target,
        type: 'Normal',
        reason: 'ScheduleClosed',
        message: `schedule ${w.name} closed: pool ${w.pool} scales with its queue again${when === undefined ? '' : `; it opens again at ${when}`}`,
      });
    }
  }
  // The condition first: it is what later ticks compare with, so an Event is not repeated.
  intents.unshift({
    kind: 'condition',
    target,
    condition: {
      type: SCHEDULES_CONDITION,
      status: anyOpen ? 'True' : 'False',
      reason: anyOpen ? 'WindowOpen' : 'NoWindowOpen',
      message: parts.join('; '),
    },
  });
  intents.push(...events);
  if (nextEdge !== undefined) intents.push({ kind: 'requeue', afterMs: Math.max(0, nextEdge - now) + EDGE_MARGIN_MS });
  return intents;
}
