import { execFileSync } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import type { ObjectList } from '../operator/src/runtime/rest/object.ts';
import { testClient } from '../test/support/runtime.ts';
import { waitFor } from '../test/support/wait.ts';
import { helm } from './support/cluster.ts';

const client = testClient();

describe('helm uninstall', () => {
  it('leaves no workloads behind, and keeps the CRDs (and so every Task) unless they are deleted on purpose', async () => {
    const e2e = inject('e2e');
    const instance = `app.kubernetes.io/instance=${e2e.release.name}`;
    // The documented order: the orchestrator resources first, while the operator can
    // still drain them. The earlier chapters' namespaces are being deleted the same way.
    await waitFor(
      'the test namespaces gone',
      async () => {
        const list = await client.request<ObjectList>('GET', '/api/v1/namespaces');
        return list.items.some((n) => n.metadata.name?.startsWith('e2e-')) ? undefined : true;
      },
      { timeoutMs: 150_000 },
    );

    helm(e2e, ['uninstall', e2e.release.name, '--namespace', e2e.release.namespace, '--wait', '--timeout', '2m']);

    const left: string[] = [];
    for (const path of [
      `/apis/apps/v1/namespaces/${e2e.release.namespace}/deployments`,
      `/api/v1/namespaces/${e2e.release.namespace}/services`,
      `/api/v1/namespaces/${e2e.release.namespace}/serviceaccounts`,
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
      '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
      '/apis/agents.orchestrator.dev/v1alpha1/orchestratorpolicies',
    ]) {
      const list = await client.request<ObjectList>('GET', path, { query: { labelSelector: instance } });
      left.push(...list.items.map((o) => `${path}/${o.metadata.name ?? ''}`));
    }
    expect(left).toEqual([]);
    await waitFor('the operator Pods gone', async () => {
      const pods = await client.request<ObjectList>('GET', `/api/v1/namespaces/${e2e.release.namespace}/pods`);
      return pods.items.length === 0 ? true : undefined;
    });
    const agentPods = await client.request<ObjectList>('GET', '/api/v1/pods', {
      query: { labelSelector: 'app.kubernetes.io/managed-by=agent-orchestrator' },
    });
    expect(agentPods.items.map((p) => p.metadata.name)).toEqual([]);
    if (e2e.mode === 'local') {
      const containers = execFileSync(
        'docker',
        [
          'ps',
          '-a',
          '--format',
          '{{.Names}} {{.Label "agents.orchestrator.dev/namespace"}}',
          '--filter',
          'label=agents.orchestrator.dev/uid',
        ],
        {
          env: { ...process.env, DOCKER_HOST: e2e.dockerHost },
          encoding: 'utf8',
        },
      );
      expect(containers.split('\n').filter((line) => / e2e-/.test(line))).toEqual([]);
    }
    // CRDs are not the release's to delete: Helm keeps what crds/ installed.
    const crds = await client.request<ObjectList>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    expect(
      crds.items
        .map((c) => c.metadata.name)
        .filter((n) => n?.endsWith('.agents.orchestrator.dev'))
        .sort(),
    ).toEqual(['agents.agents.orchestrator.dev', 'orchestratorpolicies.agents.orchestrator.dev', 'tasks.agents.orchestrator.dev']);
  });
});
