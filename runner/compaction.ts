import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Condition } from '../operator/src/api/common.ts';
import { COMPACTION_ANSWERS, CONTEXT_COMPACTION_CONDITION } from '../operator/src/api/names.ts';
import { setCondition } from '../operator/src/controllers/conditions.ts';
import { rfc3339 } from '../operator/src/core/timestamp.ts';
import type { Clock } from '../operator/src/runtime/clock.ts';
import { messageOf } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import type { SharedInformer } from '../operator/src/runtime/cache/informer-group.ts';
import { atLeast } from '../operator/src/runtime/rest/resource-version.ts';
import type { Executor } from './executors/executor.ts';
import { contextUsage } from './outcomes.ts';
import { updateOwnStatus, type AgentObject } from './agent-status.ts';

// The runner acts on the context plugin's Compacting and Recycling and answers with these.
const CONDITION = CONTEXT_COMPACTION_CONDITION;
const ANSWERS = COMPACTION_ANSWERS;

/** Where a recycled agent's summary waits for the next runner, under the workspace. */
export const SUMMARY_FILE = '.agent-orchestrator/context-summary.md';

const JOURNAL_TASKS = 10;
const OUTPUT_TAIL = 600;

export interface CompactorOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  executor: Executor;
  /** Tasks running now: the runner compacts only when idle. */
  active: () => number;
  /** spec.runtime.workspace.mountPath, if the agent has a workspace. */
  workspaceDir: () => string | undefined;
  windowTokens: () => number | undefined;
  clock: Clock;
  logger: Logger;
}

const conditionOf = (agent: KubeObject): Condition | undefined =>
  (agent as AgentObject).status?.conditions?.find((c) => c.type === CONDITION);

/**
 * The runner's part of a compaction cycle. When the agent's ContextCompaction condition
 * asks it to compact (and no task runs), the executor compacts; an executor that cannot
 * (no compact command, or it failed) leaves a summary of the recent tasks in the
 * workspace and says so, and the operator restarts the agent. The next runner, finding
 * the condition at Recycling, seeds its executor with that summary and reports a fresh
 * context. Each answer is one write on the Agent's status.
 */
export class Compactor {
  private readonly o: CompactorOptions;
  private readonly journal: string[] = [];
  private busy = false;
  /** The Agent's version after this runner's last answer: an older copy still asks for the cycle just done. */
  private answered: string | undefined;

  constructor(options: CompactorOptions) {
    this.o = options;
  }

  /** Keeps the tail of each finished task's output, for the summary of a recycle. */
  record(task: string, outcome: string, output: string): void {
    const tail = output.length > OUTPUT_TAIL ? `...${output.slice(-OUTPUT_TAIL)}` : output;
    this.journal.push(`## ${task} (${outcome})\n${tail.trim()}`);
    if (this.journal.length > JOURNAL_TASKS) this.journal.shift();
  }

  /** Looks at the Agent as the informer has it (on every event and after every task). */
  onAgent(agent: KubeObject | undefined): void {
    if (!agent || this.busy) return;
    if (this.answered !== undefined && !atLeast(agent.metadata.resourceVersion, this.answered)) return;
    const c = conditionOf(agent);
    if (c?.status !== 'True' || c.reason !== 'Compacting' || this.o.active() > 0) return;
    this.busy = true;
    void this.compact().finally(() => {
      this.busy = false;
    });
  }

  /** Looks at every version of the Agent an informer delivers. */
  follow(agents: SharedInformer<KubeObject>): void {
    agents.addHandler({
      onAdd: (a) => {
        this.onAgent(a);
      },
      onUpdate: (_old, a) => {
        this.onAgent(a);
      },
    });
  }

  /** At start: a runner that comes up in a recycle starts from the saved summary and says so. */
  async resume(agent: KubeObject): Promise<void> {
    const c = conditionOf(agent);
    if (c?.status !== 'True' || c.reason !== 'Recycling') return;
    const file = this.summaryPath();
    const summary = file ? await readFile(file, 'utf8').catch(() => undefined) : undefined;
    if (summary !== undefined) this.o.executor.seed?.(summary);
    const tokens = summary === undefined ? 0 : Math.ceil(summary.length / 4);
    const how =
      summary === undefined
        ? 'no saved summary (the agent has no workspace, or none was written)'
        : `seeded with the ${summary.length}-character summary in ${file ?? ''}`;
    await this.answer(ANSWERS.recycled, 'True', `a new runner started ${how}`, tokens, true);
  }

  private async compact(): Promise<void> {
    const log = this.o.logger.child({ compaction: true });
    try {
      const result = this.o.executor.compact ? await this.o.executor.compact(new AbortController().signal) : undefined;
      if (result?.outcome === 'Compacted') {
        const tokens = result.contextTokens ?? (result.summary !== undefined ? Math.ceil(result.summary.length / 4) : 0);
        log.info({ tokens }, 'compacted the context');
        await this.answer(ANSWERS.compacted, 'True', result.reason, tokens, true);
        return;
      }
      const why = result ? `compaction failed: ${result.reason}` : 'the executor has no compact command (RUNNER_COMPACT_COMMAND)';
      const saved = await this.saveSummary(result?.summary);
      log.info({ why, saved }, 'cannot compact: asking to be recycled');
      await this.answer(ANSWERS.cannot, 'True', `${why}; ${saved ? `summary saved in ${saved}` : 'no workspace to save a summary in'}`);
    } catch (err) {
      log.warn({ err: messageOf(err) }, 'compaction answer not written; the operator times the cycle out');
    }
  }

  private summaryPath(): string | undefined {
    const dir = this.o.workspaceDir();
    return dir === undefined ? undefined : join(dir, SUMMARY_FILE);
  }

  /** The agent's own summary if it gave one, else the tails of its recent tasks. Written whole or not at all. */
  private async saveSummary(own: string | undefined): Promise<string | undefined> {
    const file = this.summaryPath();
    if (!file) return undefined;
    const text =
      own ??
      `# Context summary of agent ${this.o.agent} before a recycle\n\nThe last ${this.journal.length} tasks, oldest first:\n\n${this.journal.join('\n\n')}\n`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, text, { mode: 0o600 });
      await rename(`${file}.tmp`, file);
      return file;
    } catch (err) {
      this.o.logger.warn({ err: messageOf(err), file }, 'could not save the context summary');
      return undefined;
    }
  }

  /** One status write: the answer on the condition, and the context now (with the count of cycles). */
  private async answer(reason: string, status: 'True', message: string, tokens?: number, completed = false): Promise<void> {
    const written = await updateOwnStatus(this.o.client, this.o.namespace, this.o.agent, (live) => {
      const s = live.status ?? {};
      return {
        conditions: setCondition(
          s.conditions,
          { type: CONDITION, status, reason, message: message.slice(0, 1024) },
          rfc3339(this.o.clock.now()),
        ),
        ...(tokens !== undefined ? { contextUsage: contextUsage(tokens, this.o.windowTokens()) } : {}),
        ...(completed ? { stats: { compactions: (s.stats?.compactions ?? 0) + 1 } } : {}),
      };
    });
    // Copies older than the answer were written before it and may still ask for this cycle.
    this.answered = written?.metadata.resourceVersion;
  }
}
