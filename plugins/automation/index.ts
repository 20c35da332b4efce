import { definePlugin, type Intent, type NamespaceSnapshot } from '../../operator/src/framework/index.ts';
import { automationConfig } from './config.ts';
import { recoveryIntents } from './recovery.ts';
import { automationRouting, compileTier } from './routing.ts';
import { compileWindow, scheduleIntents } from './schedule.ts';

export { automationConfig, type AutomationConfig } from './config.ts';

/**
 * Automation: the namespace runs itself by time and by outcome.
 * - Schedules (lifecycle): windows of time, given by cron expressions in an IANA time
 *   zone, that hold a pool's awake agents within bounds (pool intents the autoscaler
 *   applies), with the Schedules condition and an Event per window transition.
 * - Fallback tiers (Filter): agents matched by a tier's label selector take a task only
 *   once it has waited the tier's afterSeconds.
 * - Recovery (lifecycle): an agent that keeps failing has its workload restarted, with a
 *   doubling backoff and an optional limit.
 * Schedules also keep the router from waking an agent a window keeps asleep (Filter).
 */
export const automation = definePlugin({
  name: 'automation',
  config: automationConfig,
  routing: (config) => automationRouting(config.schedules.map(compileWindow), config.tiers.map(compileTier)),
  lifecycle: (config) => {
    const windows = config.schedules.map(compileWindow);
    const recovery = config.recovery;
    return {
      onTick(snapshot: NamespaceSnapshot): Intent[] {
        const intents = scheduleIntents(windows, snapshot);
        if (recovery !== undefined) for (const agent of snapshot.agents) intents.push(...recoveryIntents(agent, recovery, snapshot.now));
        return intents;
      },
    };
  },
});
