import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { crdPath } from '../../../operator/src/api/generate/files.ts';
import { agent } from '../../../operator/src/api/agent.ts';
import { policy } from '../../../operator/src/api/policy.ts';
import { task } from '../../../operator/src/api/task.ts';
import { kinds, crdName } from '../../../operator/src/api/kinds.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { installCrds, loadYamlDir } from '../../support/crds.ts';
import { Custom, type Obj } from '../../support/custom.ts';
import { adminKubeConfig, useNamespace } from '../../support/kube.ts';
import { kubectlOk } from '../../support/kubectl.ts';

const repo = path.resolve(import.meta.dirname, '../../..');

describe('the API as installed', () => {
  beforeAll(installCrds);
  const ns = useNamespace('api-');
  let custom: Custom;
  beforeAll(() => {
    custom = new Custom(adminKubeConfig(), ns.name);
  });

  it.each(kinds)('serves $kind with its generated schema intact', async (kind) => {
    const live = JSON.parse(await kubectlOk('get', 'crd', crdName(kind), '-o', 'json')) as Obj;
    const generated = parse(readFileSync(path.join(repo, crdPath(kind.plural)), 'utf8')) as Obj;
    const versionOf = (crd: Obj): Obj => ((crd.spec as Obj).versions as Obj[])[0] ?? {};
    // The server keeps every rule, default and bound: nothing was dropped on the way in.
    expect(versionOf(live).schema).toEqual(versionOf(generated).schema);
    expect((live.spec as Obj).names).toMatchObject({ shortNames: kind.shortNames, categories: ['orchestrator'] });
  });

  it('applies every example with a server-side dry run, then for real', async () => {
    const examples = loadYamlDir('examples');
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const { file, doc } of examples) {
      expect(await custom.rejection(doc), `${file}: ${String((doc.metadata as Obj).name)}`).toBeUndefined();
    }
    for (const { doc } of examples) await custom.create(doc);
    const output = await kubectlOk('get', 'orchestrator', '-n', ns.name, '-o', 'name');
    expect(output.trim().split('\n').sort()).toEqual(
      examples.map(({ doc }) => `${String(doc.kind).toLowerCase()}.agents.orchestrator.dev/${String((doc.metadata as Obj).name)}`).sort(),
    );
  });

  it.each([
    ['Agent', agent, { spec: { runtime: { type: 'docker', image: 'runner:1' } } }],
    ['Task', task, { spec: {} }],
    [
      'OrchestratorPolicy',
      policy,
      { spec: { autoscaling: { pools: [{ name: 'p', template: { runtime: { type: 'kubernetes', image: 'r:1' } } }] } } },
    ],
    ['OrchestratorPolicy', policy, {}],
  ] as const)('defaults a minimal %s exactly as the zod schema does', async (kind, schema, body) => {
    const name = `minimal-${kind.toLowerCase()}-${Object.keys(body).length}`;
    const created = await custom.create({ apiVersion: API_VERSION, kind, metadata: { name }, ...body });
    expect(created.spec).toEqual(schema.parse({ metadata: { name }, ...body }).spec);
  });

  it('prints the columns a person wants at a glance', async () => {
    const out = await kubectlOk('get', 'ag,tk,opol', '-n', ns.name);
    expect(out).toMatch(/^NAME\s+PHASE\s+RUNTIME\s+CAPABILITIES\s+ACTIVE\s+MAX\s+AGE$/m);
    expect(out).toMatch(/^agent\.agents\.orchestrator\.dev\/code-reviewer\s+kubernetes\s+\["code-review","typescript","python"\]\s+2\s+/m);
    expect(out).toMatch(/^NAME\s+PHASE\s+AGENT\s+PRIORITY\s+ATTEMPTS\s+AGE$/m);
    expect(out).toMatch(/^task\.agents\.orchestrator\.dev\/pr-1234-review\s+500\s+/m);
    expect(out).toMatch(/^NAME\s+STRATEGY\s+POOLS\s+AGE$/m);
    expect(out).toMatch(/^orchestratorpolicy\.agents\.orchestrator\.dev\/default\s+Balanced\s+\d+s$/m);
  });

  it('explains every field from the schema descriptions', async () => {
    const out = await kubectlOk('explain', 'task.spec.retries');
    expect(out).toMatch(/KIND:\s+Task/);
    expect(out).toMatch(/backoffSeconds\s+<integer>/);
    expect(out).toMatch(/policy’s spec\.retries/);
  });

  it('selects agents and tasks by field', async () => {
    const docker = await kubectlOk('get', 'ag', '-n', ns.name, '--field-selector', 'spec.runtime.type=docker', '-o', 'name');
    expect(docker.trim().split('\n').sort()).toEqual([
      'agent.agents.orchestrator.dev/dev-laptop',
      'agent.agents.orchestrator.dev/minimal-agent-1',
    ]);
  });
});
