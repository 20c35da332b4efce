import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kinds } from '../../operator/src/api/kinds.ts';
import { CommandExecutor } from '../../runner/executors/command.ts';
import type { TaskInput } from '../../runner/executors/executor.ts';

const here = import.meta.dirname;
const docs = ['agent.yaml', 'tasks.yaml'].flatMap((f) =>
  readFileSync(path.join(here, f), 'utf8')
    .split(/^---\n/m)
    .map((text) => parse(text) as { apiVersion: string; kind: string; metadata: { name: string } }),
);

describe('examples/coding-agent', () => {
  it.each(docs.filter((d) => d.apiVersion.startsWith('agents.orchestrator.dev/')).map((d) => [`${d.kind} ${d.metadata.name}`, d] as const))(
    '%s satisfies its schema',
    (_label, doc) => {
      expect(kinds.find((k) => k.kind === doc.kind)?.schema.safeParse(doc).error?.issues ?? []).toEqual([]);
    },
  );

  // The stand-in CLI under the runner's real command executor, as the Agent configures it.
  async function executor(): Promise<{
    run: (input: string) => ReturnType<CommandExecutor['execute']>;
    compact: CommandExecutor['compact'];
    workspace: string;
  }> {
    const workspace = await mkdtemp(path.join(tmpdir(), 'coding-agent-'));
    const cli = ['/bin/sh', path.join(here, 'agent-cli')];
    const e = new CommandExecutor({
      command: cli,
      compactCommand: cli,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', AGENT_WORKSPACE: workspace, LLM_API_KEY: 'k' },
    });
    let n = 0;
    const task = (input: string): TaskInput => ({ namespace: 'ns', name: `t${++n}`, attempt: 1, input, timeoutSeconds: 30 });
    return { run: (input) => e.execute(task(input), new AbortController().signal), compact: e.compact?.bind(e), workspace };
  }

  it('works in the workspace and reports a context that grows with the conversation', async () => {
    const { run, workspace } = await executor();
    const first = await run('the build uses node 24');
    expect(first).toMatchObject({ outcome: 'Succeeded', usage: { model: 'stand-in-1' } });
    const second = await run('tests run with make test');
    expect(second.output).toContain('- the build uses node 24\n- tests run with make test\n');
    expect(second.usage?.contextTokens).toBeGreaterThan(first.usage?.contextTokens ?? Infinity);
    expect(second.usage?.inputTokens).toBe(second.usage?.contextTokens);
    expect(await readFile(path.join(workspace, 'NOTES.md'), 'utf8')).toBe('- the build uses node 24\n- tests run with make test\n');
  });

  it('compacts its session into a summary, and the context shrinks', async () => {
    const { run, compact } = await executor();
    await run('one');
    const before = (await run('two')).usage?.contextTokens ?? 0;
    const result = await compact?.(new AbortController().signal);
    expect(result).toMatchObject({ outcome: 'Compacted', summary: 'summary of 2 earlier turns; last asked: two\n' });
    expect(result?.contextTokens).toBeLessThan(before);
  });
});
