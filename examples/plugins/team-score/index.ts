// team-score: a sample out-of-tree Score plugin, loaded with --plugin (docs/plugins.md).
// At run time it imports only zod: the framework's names below are `import type`, which
// Node erases with the other types, so the same file loads from the repository, a
// ConfigMap or an image volume, whether the operator runs from source or from dist/.
import { z } from 'zod';
import type { AgentInfo, Plugin, RoutingPlugin, TaskInfo } from '../../../operator/src/framework/index.ts';

// A Kubernetes label key: an optional DNS-subdomain prefix and '/', then a name.
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** spec.plugins.team-score: every setting has a default, so a policy may leave it out. */
export const teamScoreConfig = z
  .strictObject({
    label: z
      .string()
      .max(316)
      .regex(LABEL_KEY, { message: 'a label key, such as team or example.com/team' })
      .default('team')
      .describe('The label that names a team, read on the Task and on the Agent.'),
    sharedAgentScore: z
      .int()
      .min(0)
      .max(100)
      .default(50)
      .describe('Score of an agent without the label (shared by every team): between the own team’s 100 and another team’s 0.'),
  })
  .describe('Prefer agents of the task’s team.');

export type TeamScoreConfig = z.output<typeof teamScoreConfig>;

/**
 * 0-100 for one (task, agent) pair: 100 when the agent's team is the task's, 0 when it is
 * another team's, sharedAgentScore when the agent has no team. A task without the label
 * scores every agent 0, so the other plugins decide.
 */
export function teamScore(config: TeamScoreConfig, task: TaskInfo, agent: AgentInfo): number {
  const team = task.labels?.[config.label];
  if (team === undefined) return 0;
  const agentTeam = agent.labels?.[config.label];
  if (agentTeam === undefined) return config.sharedAgentScore;
  return agentTeam === team ? 100 : 0;
}

function routing(config: TeamScoreConfig): RoutingPlugin {
  return { score: (task, agent) => teamScore(config, task, agent) };
}

/**
 * The Plugin object the operator loads: what definePlugin builds for in-tree plugins,
 * written out so the module needs nothing of the operator at run time.
 */
export const plugin: Plugin = {
  name: 'team-score',
  config: teamScoreConfig,
  // The registry validates spec.plugins.team-score with `config` when the policy is
  // applied; create parses again to fill in the defaults.
  create: (raw) => ({ routing: routing(teamScoreConfig.parse(raw)) }),
  admission: [],
};

export default plugin;
