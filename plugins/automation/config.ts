import { Cron } from 'croner';
import { z } from 'zod';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// A label key: an optional DNS-subdomain prefix and '/', then a name (Kubernetes' rules).
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_KEY_MESSAGE = 'not a label key: an optional DNS prefix and "/", then letters, digits, "-", "_" and "."';
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** Cron patterns of five fields, or six with seconds first; no year field, so every valid one repeats. */
export const CRON_MODE = '5-or-6-parts' as const;
/** A fixed instant to test patterns from: validation never reads the clock. */
const EPOCH = new Date(0);

const name = (what: string): z.ZodString =>
  z
    .string()
    .max(63)
    .regex(DNS_LABEL, { message: `${what} is lowercase letters, digits and '-' (at most 63)` });

/** Why a cron pattern is not usable, or undefined when it is. */
export function cronProblem(pattern: string, timeZone = 'UTC'): string | undefined {
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone: timeZone, mode: CRON_MODE });
  } catch (err) {
    return `not a cron expression: ${(err instanceof Error ? err.message : String(err)).replace(/^CronPattern: /, '')} (five fields "minute hour day-of-month month day-of-week", or six with seconds first)`;
  }
  try {
    if (cron.nextRun(EPOCH) === null) return 'never fires (no date matches it): check the day of month against the month';
  } catch (err) {
    return `cannot be evaluated: ${err instanceof Error ? err.message : String(err)}`;
  }
  return undefined;
}

/** Why a time zone is not usable, or undefined when it is. */
export function timeZoneProblem(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone }).format(EPOCH);
  } catch {
    return `unknown time zone "${timeZone}": use an IANA name such as Europe/Berlin, America/New_York or UTC`;
  }
  return undefined;
}

const cron = z
  .string()
  .min(1)
  .max(256)
  .superRefine((pattern, ctx) => {
    const problem = cronProblem(pattern);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const awake = z.int().min(0).max(1000);

export const scheduleConfig = z
  .strictObject({
    name: name('a schedule name').describe('Names the window in the pool’s reason, Events and the Schedules condition.'),
    pool: name('a pool name').describe('The pool of spec.autoscaling.pools the window bounds.'),
    start: cron.describe('When the window opens: a cron expression ("0 8 * * 1-5"; six fields put seconds first).'),
    end: cron.optional().describe('When the window closes: a cron expression ("0 20 * * 1-5"). Set this or durationSeconds.'),
    durationSeconds: z
      .int()
      .min(1)
      .max(31 * 86400)
      .optional()
      .describe('How long the window stays open after each start. Set this or end.'),
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .superRefine((tz, ctx) => {
        const problem = timeZoneProblem(tz);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('UTC')
      .describe('IANA time zone the cron expressions are read in (Europe/Berlin); daylight saving is followed.'),
    minAwake: awake
      .optional()
      .describe('While open: at least this many of the pool’s agents awake (woken or created; no more than maxAgents).'),
    maxAwake: awake
      .optional()
      .describe(
        'While open: at most this many awake; the rest are put to sleep (running tasks finish first). Wins over minAwake and minAgents.',
      ),
  })
  .superRefine((s, ctx) => {
    if (s.end === undefined && s.durationSeconds === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: 'set end (a cron expression) or durationSeconds: when does the window close?',
      });
    if (s.end !== undefined && s.durationSeconds !== undefined)
      ctx.addIssue({ code: 'custom', path: ['durationSeconds'], message: 'set end or durationSeconds, not both' });
    if (s.minAwake === undefined && s.maxAwake === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['minAwake'],
        message: 'set minAwake, maxAwake or both: what does the window hold the pool to?',
      });
    if (s.minAwake !== undefined && s.maxAwake !== undefined && s.minAwake > s.maxAwake) {
      ctx.addIssue({ code: 'custom', path: ['minAwake'], message: `must be less than or equal to maxAwake (${s.maxAwake})` });
    }
  })
  .describe('A window of time in which a pool’s awake agents are held within bounds.');

export const tierConfig = z
  .strictObject({
    name: name('a tier name').describe('Names the tier in the reason a task waits.'),
    selector: z
      .strictObject({
        matchLabels: z
          .record(
            z.string().max(316).regex(LABEL_KEY, { message: LABEL_KEY_MESSAGE }),
            z.string().max(63).regex(LABEL_VALUE, { message: 'a label value is letters, digits, "-", "_" and "." (at most 63)' }),
            { error: (issue) => (issue.code === 'invalid_key' ? LABEL_KEY_MESSAGE : undefined) },
          )
          .refine((m) => Object.keys(m).length > 0, { message: 'name at least one label' }),
      })
      .describe('The agents of this tier: those with every label.'),
    afterSeconds: z
      .int()
      .min(0)
      .max(7 * 86400)
      .describe('Seconds a task waits after it was queued before this tier may take it.'),
  })
  .describe('Agents that take a task only after it has waited; agents in no tier take it at once.');

export const recoveryConfig = z
  .strictObject({
    restartAfterFailures: z.int().min(1).max(1000).describe('Consecutive failed tasks after which the agent’s workload is restarted.'),
    backoffSeconds: z.int().min(0).max(86400).default(60).describe('Wait after a restart before the next one, doubled after each.'),
    maxRestarts: z.int().min(1).max(1000).optional().describe('Restarts at most, until a task succeeds on the agent; unset: no limit.'),
  })
  .describe('Restart an agent that keeps failing.');

export const automationConfig = z
  .strictObject({
    schedules: z.array(scheduleConfig).max(32).default([]).describe('Windows that bound pools’ awake agents by time.'),
    tiers: z.array(tierConfig).max(8).default([]).describe('Fallback tiers: agents that take a task only once it has waited.'),
    recovery: recoveryConfig.optional().describe('Restart agents that keep failing; unset: never.'),
  })
  .superRefine((config, ctx) => {
    const unique = (list: readonly { name: string }[], field: 'schedules' | 'tiers', what: string): void => {
      const seen = new Set<string>();
      list.forEach((item, i) => {
        if (seen.has(item.name))
          ctx.addIssue({
            code: 'custom',
            path: [field, i, 'name'],
            message: `another ${what} is named "${item.name}": names must be unique`,
          });
        seen.add(item.name);
      });
    };
    unique(config.schedules, 'schedules', 'schedule');
    unique(config.tiers, 'tiers', 'tier');
  })
  .describe('Proactive sleep and wake by schedule, fallback tiers, and recovery of failing agents.');

export type AutomationConfig = z.output<typeof automationConfig>;
export type ScheduleConfig = z.output<typeof scheduleConfig>;
export type TierConfig = z.output<typeof tierConfig>;
export type RecoveryConfig = z.output<typeof recoveryConfig>;
