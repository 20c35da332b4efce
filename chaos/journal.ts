// The ground truth of a chaos run: each status write a worker made for an attempt and
// whether the API server accepted it, and each execution's start and end. In-process
// runners are journaled at their REST client (what was sent, what came back); runner
// processes and containers from their own log lines (pino: `running`, `finished`,
// `result dropped`, `handed back`), which each follow the answer to the write they name.
import { appendFileSync } from 'node:fs';
import { isConflict } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { Execution, JournalWrite } from './invariants.ts';

type Status = { phase?: string; assignment?: { attempt?: number; claimedBy?: string | null }; history?: { reason?: string }[] };

const TASK_STATUS = /\/tasks\/([^/]+)\/status$/;

export class Journal {
  readonly writes: JournalWrite[] = [];
  readonly executions: Execution[] = [];
  /** Log-derived entries, per source (a container's log is read again whole each time). */
  private readonly fromLogs = new Map<string, { writes: JournalWrite[]; executions: Execution[] }>();
  private readonly file: string | undefined;

  constructor(file?: string) {
    this.file = file;
  }

  add(write: JournalWrite): void {
    this.writes.push(write);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(write)}\n`);
  }

  /** Replaces what one log source said so far (a container log read again from its start). */
  setLogSource(source: string, parsed: { writes: JournalWrite[]; executions: Execution[] }): void {
    this.fromLogs.set(source, parsed);
  }

  allWrites(): JournalWrite[] {
    return [...this.writes, ...[...this.fromLogs.values()].flatMap((p) => p.writes)];
  }

  allExecutions(): Execution[] {
    return [...this.executions, ...[...this.fromLogs.values()].flatMap((p) => p.executions)];
  }

  /** The runner that claimed an attempt, from the journal. */
  claimant(task: string, attempt: number): string | undefined {
    return this.writes.find((w) => w.kind === 'claim' && w.accepted && w.task === task && w.attempt === attempt)?.runner;
  }
}

/**
 * Journals the Task status writes a runner makes through `client`: the claim (Running,
 * claimedBy), the result (Succeeded or Failed) and the hand-back (Pending). A write the
 * server refused with 409 is journaled as not accepted; the runner reads again and decides.
 */
export function journaling(client: RestClient, journal: Journal): RestClient {
  const request = client.request.bind(client);
  const lastClaim = new Map<string, { attempt: number; runner: string }>();
  client.request = async <T>(method: string, path: string, options?: Parameters<RestClient['request']>[2]): Promise<T> => {
    const task = method === 'PUT' ? TASK_STATUS.exec(path)?.[1] : undefined;
    const status = (options?.body as { status?: Status } | undefined)?.status;
    if (task === undefined || status === undefined) return request<T>(method, path, options);
    const kind = status.phase === 'Running' ? 'claim' : status.phase === 'Pending' ? 'handback' : 'result';
    const claim = lastClaim.get(task);
    // A hand-back drops the assignment: the attempt is the one its reason names (an earlier
    // process's) or the one this client claimed last.
    const named = /attempt (\d+) was claimed by (\S+),/.exec(status.history?.at(-1)?.reason ?? '');
    const attempt = named ? Number(named[1]) : (status.assignment?.attempt ?? claim?.attempt ?? 0);
    const runner = (named ? named[2] : undefined) ?? status.assignment?.claimedBy ?? claim?.runner ?? '';
    const entry = (accepted: boolean): JournalWrite => ({
      task,
      attempt,
      runner,
      kind,
      accepted,
      at: Date.now(),
      ...(kind === 'result' && status.phase ? { phase: status.phase } : {}),
    });
    let answer: T;
    try {
      answer = await request<T>(method, path, options);
    } catch (err) {
      // A refusal (409: the fence) is not accepted; a write lost in the network may or may
      // not have landed, and the runner reads again either way: the status tells.
      if (isConflict(err)) journal.add(entry(false));
      throw err;
    }
    if (kind === 'claim') lastClaim.set(task, { attempt, runner });
    journal.add(entry(true));
    return answer;
  };
  return client;
}

export type LogLine = Record<string, unknown> & { msg?: string; time?: number };

/**
 * A runner's log (all the lives of one container, or one process) as journal entries.
 * A task's lines carry the identity of the process that wrote them; `runner ready` names
 * it for lines without one.
 */
export function parseRunnerLog(lines: readonly LogLine[]): { writes: JournalWrite[]; executions: Execution[] } {
  const writes: JournalWrite[] = [];
  const executions: Execution[] = [];
  const open = new Map<string, Execution>();
  let life = '';
  for (const l of lines) {
    const at = typeof l.time === 'number' ? l.time : undefined;
    if (at === undefined) continue;
    if (l.msg === 'runner ready' && typeof l.identity === 'string') {
      life = l.identity;
      // What an earlier life left open died with it (its end unknown).
      for (const [k, e] of open) if (e.runner !== life) open.delete(k);
      continue;
    }
    const task = typeof l.task === 'string' ? (l.task.split('/')[1] ?? l.task) : undefined;
    const attempt = typeof l.attempt === 'number' ? l.attempt : undefined;
    if (task === undefined || attempt === undefined) continue;
    const outcome = typeof l.outcome === 'string' ? l.outcome : undefined;
    const runner = typeof l.identity === 'string' ? l.identity : life;
    const key = `${runner} ${task}#${attempt}`;
    const end = (): void => {
      const e = open.get(key);
      if (e) e.end = at;
      open.delete(key);
    };
    switch (l.msg) {
      case 'running': {
        writes.push({ task, attempt, runner, kind: 'claim', accepted: true, at });
        const e: Execution = { task, attempt, runner, start: at };
        executions.push(e);
        open.set(key, e);
        break;
      }
      case 'finished':
        writes.push({ task, attempt, runner, kind: 'result', accepted: true, at, phase: outcome === 'Succeeded' ? 'Succeeded' : 'Failed' });
        end();
        break;
      case 'handed back':
        writes.push({ task, attempt, runner, kind: 'handback', accepted: true, at });
        end();
        break;
      case 'handed back an attempt of an earlier runner process':
        writes.push({ task, attempt, runner: typeof l.claimedBy === 'string' ? l.claimedBy : '', kind: 'handback', accepted: true, at });
        break;
      default:
        if (l.msg?.startsWith('result dropped')) {
          writes.push({ task, attempt, runner, kind: outcome === 'Cancelled' ? 'handback' : 'result', accepted: false, at });
          end();
        }
    }
  }
  return { writes, executions };
}
