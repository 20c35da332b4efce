// One table of Agents and what the security policy says of them, for the two enforcers:
// the judge (judge.test.ts) and, on the real API server, the chart's
// ValidatingAdmissionPolicy and the operator (test/integration/plugins/security.test.ts).

/** The chart values of the table: what `security:` holds in a values file. */
export const TABLE_SETTINGS = {
  enabled: true,
  validationActions: ['Deny'],
  images: { allow: ['127.0.0.1:5000/*', 'ghcr.io/acme/**', 'agent-orchestrator/runner:*'] },
  resources: { requireLimits: ['cpu', 'memory'] },
  runtimeClassName: { required: false, allow: ['gvisor', 'kata-*'] },
  secrets: { allow: ['llm-key', 'team-a-*'] },
  docker: { hosts: ['unix:///**'], gpus: false },
} as const;

export interface SecurityCase {
  readonly name: string;
  /** spec.runtime of the Agent; `dockerHost` is the engine the test has (unix:///...). */
  readonly runtime: (dockerHost: string) => Record<string, unknown>;
  /** The fields of every violation, in order; empty: admitted. */
  readonly fields: readonly string[];
}

const limits = { limits: { cpu: '500m', memory: '256Mi' } };
const k8s = (more: Record<string, unknown>): Record<string, unknown> => ({
  type: 'kubernetes',
  image: '127.0.0.1:5000/runner:1',
  resources: limits,
  ...more,
});
const docker = (more: Record<string, unknown>): Record<string, unknown> => ({
  type: 'docker',
  image: 'agent-orchestrator/runner:dev',
  resources: limits,
  ...more,
});

export const SECURITY_CASES: readonly SecurityCase[] = [
  { name: 'allowed-registry', runtime: () => k8s({}), fields: [] },
  { name: 'allowed-deep-path', runtime: () => k8s({ image: 'ghcr.io/acme/team/agent@sha256:' + 'a'.repeat(64) }), fields: [] },
  { name: 'other-registry', runtime: () => k8s({ image: 'registry.evil.example/runner:1' }), fields: ['spec.runtime.image'] },
  // `*` stops at '/': a repository one level deeper is not under 127.0.0.1:5000/*.
  { name: 'star-stops-at-slash', runtime: () => k8s({ image: '127.0.0.1:5000/team/runner:1' }), fields: ['spec.runtime.image'] },
  // The registry part must be whole: a host that merely starts like the allowed one is another.
  { name: 'look-alike-host', runtime: () => k8s({ image: '127.0.0.1:5000.evil.example/runner:1' }), fields: ['spec.runtime.image'] },
  { name: 'look-alike-org', runtime: () => k8s({ image: 'ghcr.io/acme-evil/runner:1' }), fields: ['spec.runtime.image'] },
  {
    name: 'no-cpu-limit',
    runtime: () => k8s({ resources: { limits: { memory: '256Mi' } } }),
    fields: ['spec.runtime.resources.limits.cpu'],
  },
  {
    name: 'no-limits',
    runtime: () => k8s({ resources: { requests: { cpu: '1' } } }),
    fields: ['spec.runtime.resources.limits.cpu', 'spec.runtime.resources.limits.memory'],
  },
  { name: 'allowed-runtime-class', runtime: () => k8s({ runtimeClassName: 'kata-fc' }), fields: [] },
  { name: 'other-runtime-class', runtime: () => k8s({ runtimeClassName: 'runc-privileged' }), fields: ['spec.runtime.runtimeClassName'] },
  {
    name: 'allowed-secrets',
    runtime: () =>
      k8s({
        env: [{ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'llm-key', key: 'key' } } }],
        envFrom: [{ secretRef: { name: 'team-a-tokens' } }, { configMapRef: { name: 'anything' } }],
      }),
    fields: [],
  },
  {
    name: 'forbidden-env-secret',
    runtime: () =>
      k8s({
        env: [
          { name: 'MODE', value: 'x' },
          { name: 'DB', valueFrom: { secretKeyRef: { name: 'prod-db', key: 'password' } } },
        ],
      }),
    fields: ['spec.runtime.env[1].valueFrom.secretKeyRef.name'],
  },
  {
    name: 'forbidden-envfrom-secret',
    runtime: () => k8s({ envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'team-b-tokens' } }] }),
    fields: ['spec.runtime.envFrom[1].secretRef.name'],
  },
  { name: 'docker-own-engine', runtime: () => docker({}), fields: [] },
  { name: 'docker-allowed-engine', runtime: (host) => docker({ docker: { host } }), fields: [] },
  {
    name: 'docker-other-engine',
    runtime: () => docker({ docker: { host: 'tcp://127.0.0.1:2375' } }),
    fields: ['spec.runtime.docker.host'],
  },
  {
    name: 'docker-gpu',
    runtime: () => docker({ resources: { limits: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': 1 } } }),
    fields: ["spec.runtime.resources.limits['nvidia.com/gpu']"],
  },
  // GPU devices are refused to docker agents only: on Kubernetes a device plugin hands them out.
  { name: 'kubernetes-gpu', runtime: () => k8s({ resources: { limits: { cpu: '1', memory: '1Gi', 'nvidia.com/gpu': 1 } } }), fields: [] },
  {
    name: 'several-at-once',
    runtime: () =>
      k8s({
        image: 'docker.io/library/busybox',
        resources: { limits: { cpu: '1' } },
        env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'other', key: 'k' } } }],
      }),
    fields: ['spec.runtime.image', 'spec.runtime.resources.limits.memory', 'spec.runtime.env[0].valueFrom.secretKeyRef.name'],
  },
];
