import { pino, type Logger } from 'pino';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import { ApiError, messageOf } from '../operator/src/runtime/errors.ts';
import { refusedCredentialsMessage, type CredentialsSource } from '../operator/src/runtime/rest/credentials.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { loadClusterAccess } from '../operator/src/runtime/rest/kubeconfig/load.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { agentSettings, type AgentSettings } from './agent.ts';
import { AssignedTasks } from './assigned-tasks.ts';
import { loadRunnerConfig, type RunnerConfig } from './config.ts';
import { CommandExecutor } from './executors/command.ts';
import { isCompaction, type Executor, type TaskInput } from './executors/executor.ts';
import { HttpExecutor } from './executors/http.ts';
import { ModelExecutor } from './executors/model.ts';
import { Heartbeat, LeaseTakenError, newRunnerIdentity } from './heartbeat.ts';
import { Agents } from './resources.ts';
import { recordOutcome } from './outcomes.ts';
import { reportUsage } from './usage.ts';
import { TaskRunner } from './task-runner.ts';
import { Compactor } from './compaction.ts';
import { attemptKey, ProgressLines } from './progress.ts';
import { RefusalReportingClient, RefusalReporter } from './refusals.ts';

const RESYNC_MS = 30_000;

// The agent runner: heartbeat, task watch, execution, results. One per agent workload.
async function main(): Promise<void> {
  const config = loadRunnerConfig();
  const logger = pino({ level: config.logLevel, base: { component: 'runner', agent: `${config.namespace}/${config.agent}` } });
  const { access, clientNodeFor, source, context } = await loadClusterAccess({ env: config.kubeEnvironment });
  if (clientNodeFor) logger.info({ clientNodeFor }, 'the kubeconfig needs client-node');
  // Every 403 the runner meets is reported on its Agent (status.refusals.reported), where
  // the threat-detection plugin counts them; the reporter writes with this client too.
  let refusals: RefusalReporter | undefined;
  const client = new RefusalReportingClient(access, (r) => refusals?.record(r));
  if (config.refusalReportMs > 0) {
    refusals = new RefusalReporter({
      client,
      namespace: config.namespace,
      agent: config.agent,
      intervalMs: config.refusalReportMs,
      clock: systemClock,
      logger,
    });
  }
  const agent = await readAgent(client, config, logger, { server: access.server, source, context });

  const stop = new AbortController();
  const agentInformer = new Informer<KubeObject>({
    client,
    resource: Agents,
    namespace: config.namespace,
    fieldSelector: `metadata.name=${config.agent}`,
    logger,
  });
  // The resync looks again without an event: a hand-back that failed, or work after an
  // API outage during which this process could not prove it held the Lease.
  const tasks = new AssignedTasks({ client, namespace: config.namespace, agent: config.agent, resyncMs: RESYNC_MS, logger });
  const current = (): AgentSettings => {
    const live = agentInformer.get(`${config.namespace}/${config.agent}`);
    return live ? agentSettings(live) : agent;
  };
  const heartbeat = new Heartbeat({
    client,
    namespace: config.namespace,
    agent: config.agent,
    agentUid: agent.uid,
    identity: newRunnerIdentity(config.agent),
    intervalMs: agent.heartbeatIntervalMs,
    timeoutMs: agent.heartbeatTimeoutMs,
    clock: systemClock,
    logger,
  });
  const progress = new ProgressLines();
  const executor = executorOf(config, logger, progress);
  const self = (): KubeObject | undefined => agentInformer.get(`${config.namespace}/${config.agent}`);
  const compactor = new Compactor({
    client,
    namespace: config.namespace,
    agent: config.agent,
    executor,
    // A task's outcome write carries the context it left: compacting before it lands would
    // have that older figure overwrite the compacted one.
    active: () => runner.active() + outcomes.size,
    workspaceDir: () => current().workspaceDir,
    windowTokens: () => current().windowTokens,
    clock: systemClock,
    logger,
  });
  // Outcome counts are written after the result; shutdown waits for them.
  const outcomes = new Set<Promise<void>>();
  const runner = new TaskRunner({
    client,
    tasks,
    agent: config.agent,
    lease: heartbeat,
    executor,
    capacity: () => current().maxConcurrentTasks,
    onFinished: (result, run) => {
      compactor.record(run.task, result.outcome, result.output);
      const write = recordOutcome(
        { client, namespace: config.namespace, agent: config.agent, windowTokens: current().windowTokens, clock: systemClock, logger },
        result,
        run,
      );
      outcomes.add(write);
      // The last task of a drained agent ends: a compaction asked for meanwhile starts now.
      void write.finally(() => {
        outcomes.delete(write);
        compactor.onAgent(self());
      });
    },
    clock: systemClock,
    logger,
    ...(config.progressMs > 0 ? { progress: { lines: progress, intervalMs: config.progressMs } } : {}),
  });
  const beating = heartbeat.run(stop.signal);
  const loops = [agentInformer.run(stop.signal), tasks.run(stop.signal)];
  if (refusals) loops.push(refusals.run(stop.signal));
  if (config.resourceReportMs > 0) {
    loops.push(
      reportUsage(
        { client, namespace: config.namespace, agent: config.agent, intervalMs: config.resourceReportMs, clock: systemClock, logger },
        stop.signal,
      ),
    );
  }
  // No claim before this process holds the Lease: the operator tells this process's
  // attempts from its predecessor's by the Lease's holder.
  await Promise.all([
    agentInformer.waitForSync(stop.signal),
    tasks.waitForSync(stop.signal),
    Promise.race([heartbeat.acquired(), beating]),
  ]);
  const live = self();
  if (live) {
    await compactor.resume(live).catch((err: unknown) => {
      logger.warn({ err: messageOf(err) }, 'could not report the recycled context');
    });
  }
  compactor.follow(agentInformer);
  compactor.onAgent(live);
  runner.poke();
  logger.info(
    { executor: config.executor.type, maxConcurrentTasks: agent.maxConcurrentTasks, identity: heartbeat.identity },
    'runner ready',
  );

  const ended = await new Promise<'signal' | LeaseTakenError>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal, running: runner.active() }, 'stopping: no new tasks');
      resolve('signal');
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    beating.catch((err: unknown) => {
      if (err instanceof LeaseTakenError) resolve(err);
    });
  });
  if (ended instanceof LeaseTakenError) {
    // A successor runs this agent's tasks now; whatever this process still writes would
    // be fenced out. Stop at once and say so (a non-zero exit the runtime restarts).
    logger.error({ holder: ended.holder }, `${ended.message}; stopping`);
    runner.abandon();
    stop.abort();
    await Promise.allSettled(loops);
    await client.close();
    process.exitCode = 1;
    return;
  }
  await runner.shutdown(config.shutdownGraceMs);
  await Promise.all(outcomes);
  stop.abort();
  await Promise.all([...loops, beating]);
  await heartbeat.release();
  await client.close();
  logger.info('stopped');
}

function executorOf(config: RunnerConfig, logger: Logger, progress: ProgressLines): Executor {
  // Each line of the agent's output is a log line of the runner, with the task's name:
  // `kubectl logs` and any log pipeline follow a task while it runs; the last few reach
  // the Task's status.progress.
  const onLine = (task: TaskInput, stream: 'stdout' | 'stderr', line: string): void => {
    const what = isCompaction(task) ? { compaction: true } : { task: `${task.namespace}/${task.name}`, attempt: task.attempt };
    logger.info({ ...what, stream }, line);
    if (!isCompaction(task)) progress.push(attemptKey(task.namespace, task.name, task.attempt), line);
  };
  const e = config.executor;
  switch (e.type) {
    case 'http':
      return new HttpExecutor({ url: e.url });
    case 'model':
      return new ModelExecutor({
        baseUrl: e.url,
        model: e.model,
        session: e.session,
        onLine,
        ...(e.apiKey === undefined ? {} : { apiKey: e.apiKey }),
        ...(e.systemPrompt === undefined ? {} : { systemPrompt: e.systemPrompt }),
        ...(e.maxTokens === undefined ? {} : { maxTokens: e.maxTokens }),
        ...(e.temperature === undefined ? {} : { temperature: e.temperature }),
        ...(e.compactPrompt === undefined ? {} : { compactPrompt: e.compactPrompt }),
      });
    case 'command':
      return new CommandExecutor({
        command: e.command,
        env: config.commandEnv,
        onLine,
        ...(e.compactCommand === undefined ? {} : { compactCommand: e.compactCommand }),
        ...(e.compactPrompt === undefined ? {} : { compactPrompt: e.compactPrompt }),
      });
  }
}

/** The runner may start before its RBAC or Agent are visible: wait for the Agent. */
async function readAgent(client: RestClient, config: RunnerConfig, logger: Logger, where: CredentialsSource): Promise<AgentSettings> {
  for (let attempt = 1; ; attempt++) {
    try {
      return agentSettings(await client.request<KubeObject>('GET', objectPath(Agents, config.namespace, config.agent)));
    } catch (err) {
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      // Retried, not fatal: a docker agent's token is replaced by the operator while the
      // runner waits. But the log says which credentials, so a wrong one is found at once.
      if (err instanceof ApiError && err.status === 401)
        logger.error({ err: messageOf(err), retryInMs: delay }, refusedCredentialsMessage(where, err.status, err.reason));
      else logger.warn({ err: messageOf(err), retryInMs: delay }, 'cannot read my Agent yet');
      await systemClock.sleep(delay);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`agent-runner: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
