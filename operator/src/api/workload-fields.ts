// The parts of spec.runtime that say how an agent's workload is placed and what it gets
// besides its image and command: resources, a workspace, scheduling constraints, pull
// secrets, a runtime class and its ServiceAccount. Shapes follow the Pod spec's, so a
// block can be copied from a Pod; agent.ts puts them together and says which runtime
// takes which.
import { z } from 'zod';
import { objectName } from './common.ts';
import { asMap, asSet, withRules } from './validation.ts';

// A Kubernetes resource quantity ("500m", "2", "1.5Gi"); integers are accepted too.
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
export const quantity = z
  .union([z.int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().max(64).regex(QUANTITY)])
  .describe('A resource quantity such as 500m, 2 or 1Gi.');

/** The resources every runtime knows by name; anything else is an extended resource. */
export const STANDARD_RESOURCES = ['cpu', 'memory'] as const;
/** The one extended resource the docker runtime maps (to the engine's DeviceRequests). */
export const GPU_RESOURCE = 'nvidia.com/gpu';
// An extended resource: <DNS subdomain>/<name>, as the device plugins advertise them.
// No backslashes in these patterns: they are written into CEL string literals too.
const EXTENDED_RESOURCE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*[/][A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const WHOLE_NUMBER = /^(0|[1-9][0-9]*)$/;
// CEL sees the names in a list rather than the TypeScript tuple.
const STANDARD_CEL = `['${STANDARD_RESOURCES.join("', '")}']`;

const isStandard = (name: string): boolean => (STANDARD_RESOURCES as readonly string[]).includes(name);

const resourceList = withRules(
  z
    .record(z.string().max(253), quantity)
    .refine((list) => Object.keys(list).length <= 16, { message: 'at most 16 resources' })
    .meta({ maxProperties: 16 })
    .describe(
      'Quantities by resource name: cpu (1, 500m), memory (512Mi, 2Gi), or an extended resource with a domain prefix (nvidia.com/gpu: 1).',
    ),
  [
    {
      rule: `self.all(k, k in ${STANDARD_CEL} || k.size() <= 253 && k.matches('${EXTENDED_RESOURCE.source}'))`,
      message: 'resources are cpu, memory or an extended resource named domain/name, such as nvidia.com/gpu',
      holds: (list) => Object.keys(list).every((k) => isStandard(k) || EXTENDED_RESOURCE.test(k)),
    },
    {
      rule: `self.all(k, k in ${STANDARD_CEL} || string(self[k]).matches('${WHOLE_NUMBER.source}'))`,
      message: 'an extended resource such as nvidia.com/gpu is a whole number of devices (1, not 500m or 0.5)',
      holds: (list) => Object.entries(list).every(([k, v]) => isStandard(k) || WHOLE_NUMBER.test(String(v))),
    },
  ],
);

export const resources = withRules(
  z
    .strictObject({
      requests: resourceList.optional().describe('Resources reserved for the agent.'),
      limits: resourceList.optional().describe('Resources the agent may not exceed.'),
    })
    .describe('CPU, memory and extended resources (GPUs) for the agent’s Pod or container.'),
  [
    {
      rule: `!has(self.requests) || self.requests.all(k, k in ${STANDARD_CEL} || (has(self.limits) && k in self.limits && string(self.limits[k]) == string(self.requests[k])))`,
      message:
        'spec.runtime.resources.requests: an extended resource (nvidia.com/gpu) must be in limits too, with the same quantity: Kubernetes does not overcommit devices (setting limits alone is enough)',
      fieldPath: '.requests',
      holds: (r) =>
        Object.entries(r.requests ?? {}).every(
          ([k, v]) => isStandard(k) || (r.limits?.[k] !== undefined && String(r.limits[k]) === String(v)),
        ),
    },
  ],
);

/** Where the runner's credentials are copied in a docker container (docker/agent-files.ts). */
const FILES_DIR = '/var/run/agent-orchestrator';
const MOUNT_PATH = /^(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+$/;

export const accessModes = ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany', 'ReadOnlyMany'] as const;

export const workspace = withRules(
  z
    .strictObject({
      mountPath: z
        .string()
        .max(512)
        .regex(MOUNT_PATH, { message: 'must be an absolute path such as /workspace (letters, digits, _ - . in each part)' })
        .default('/workspace')
        .describe('Where the workspace appears in the container.'),
      size: quantity
        .optional()
        .describe(
          'kubernetes: the storage the PersistentVolumeClaim requests (required unless ephemeral), or the emptyDir’s sizeLimit when ephemeral.',
        ),
      storageClassName: objectName('a StorageClass')
        .optional()
        .describe('kubernetes: the StorageClass of the PersistentVolumeClaim; the cluster’s default when unset.'),
      accessModes: asSet(z.array(z.enum(accessModes)).min(1).max(4))
        .optional()
        .describe('kubernetes: access modes of the PersistentVolumeClaim; [ReadWriteOnce] when unset.'),
      ephemeral: z
        .boolean()
        .optional()
        .describe(
          'true: an emptyDir (kubernetes) or anonymous volume (docker), lost when the agent sleeps, restarts or rolls. Persistent when unset or false.',
        ),
    })
    .describe(
      'A writable directory for the agent’s work. Persistent by default: a PersistentVolumeClaim agent-<name>-workspace (kubernetes) or a named volume ao.<namespace>.<name>.workspace (docker), kept across sleep, wake, restarts and rolls, and deleted with the Agent.',
    ),
  [
    {
      rule: `self.mountPath != '/tmp' && !('${FILES_DIR}/'.startsWith(self.mountPath + '/'))`,
      message: `spec.runtime.workspace.mountPath must not be /tmp (the agent's scratch space) or hold ${FILES_DIR} (the runner's credentials in a docker container)`,
      fieldPath: '.mountPath',
      holds: (w) => w.mountPath !== '/tmp' && !`${FILES_DIR}/`.startsWith(`${w.mountPath}/`),
    },
    {
      rule: '!has(self.ephemeral) || !self.ephemeral || (!has(self.storageClassName) && !has(self.accessModes))',
      message: 'spec.runtime.workspace.storageClassName and accessModes are for a persistent workspace: an ephemeral one is an emptyDir',
      holds: (w) => !w.ephemeral || (w.storageClassName === undefined && w.accessModes === undefined),
    },
  ],
);

export type Workspace = z.infer<typeof workspace>;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
// A label or annotation key: an optional DNS-subdomain prefix and a name.
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*[/])?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const nodeSelector = withRules(
  z
    .record(z.string().max(316), z.string().max(63).regex(LABEL_VALUE, { message: 'must be a label value' }))
    .refine((m) => Object.keys(m).length <= 32, { message: 'at most 32 labels' })
    .meta({ maxProperties: 32 })
    .describe('kubernetes: node labels the agent’s Pod must run on, as in a Pod spec (kubernetes.io/arch: amd64).'),
  [
    {
      rule: `self.all(k, k.size() <= 316 && k.matches('${QUALIFIED_NAME.source}'))`,
      message: 'node label names are a name with an optional DNS prefix, such as kubernetes.io/arch or gpu',
      holds: (m) => Object.keys(m).every((k) => QUALIFIED_NAME.test(k)),
    },
  ],
);

export const toleration = withRules(
  z
    .strictObject({
      key: z.string().max(316).optional().describe('The taint key; empty with operator Exists matches every taint.'),
      operator: z.enum(['Exists', 'Equal']).optional().describe('Equal (default) or Exists.'),
      value: z.string().max(63).optional().describe('The taint value, for operator Equal.'),
      effect: z
        .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
        .optional()
        .describe('The taint effect to tolerate; every effect when unset.'),
      tolerationSeconds: z
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .optional()
        .describe('NoExecute only: how long the Pod stays on a node after the taint appears.'),
    })
    .describe('A Pod toleration, as in a Pod spec.'),
  [
    {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: 'a toleration with operator Exists matches any value: remove value',
      holds: (t) => t.operator !== 'Exists' || !t.value,
    },
    {
      rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
      message: 'a toleration without a key needs operator Exists (it then tolerates every taint)',
      holds: (t) => !!t.key || t.operator === 'Exists',
    },
  ],
);

export type Toleration = z.infer<typeof toleration>;

// Pod affinity is large and the API server checks it when the Pod is made: each part is
// kept as written, and a Pod refused for it says why in the Agent's Ready condition.
const affinityPart = (what: string): z.ZodOptional<z.ZodRecord<z.ZodString, z.ZodUnknown>> =>
  z
    .record(z.string(), z.unknown())
    .meta({ 'x-kubernetes-preserve-unknown-fields': true })
    .describe(`${what}, as in a Pod spec; checked by the API server when the Pod is created.`)
    .optional();

export const affinity = z
  .strictObject({
    nodeAffinity: affinityPart('Node affinity'),
    podAffinity: affinityPart('Pod affinity'),
    podAntiAffinity: affinityPart('Pod anti-affinity'),
  })
  .describe('kubernetes: the Pod’s affinity, as in a Pod spec.');

export const imagePullSecrets = asMap(
  z
    .array(
      z.strictObject({
        name: objectName('a Secret').describe('Name of a Secret of type kubernetes.io/dockerconfigjson in the agent’s namespace.'),
      }),
    )
    .max(16),
  'name',
).describe('kubernetes: Secrets the kubelet pulls the image with, as in a Pod spec ([{name: regcred}]).');

export const runtimeClassName = objectName('a RuntimeClass').describe(
  'kubernetes: the RuntimeClass of the Pod (gvisor, kata, nvidia). docker: the engine’s runtime (HostConfig.Runtime: runsc, nvidia), which must be configured in its daemon.json.',
);

export const serviceAccount = z
  .strictObject({
    annotations: withRules(
      z
        .record(z.string().max(316), z.string().max(4096))
        .refine((m) => Object.keys(m).length <= 32, { message: 'at most 32 annotations' })
        .meta({ maxProperties: 32 }),
      [
        {
          rule: `self.all(k, k.size() <= 316 && k.matches('${QUALIFIED_NAME.source}'))`,
          message: 'annotation names are a name with an optional DNS prefix, such as iam.gke.io/gcp-service-account',
          holds: (m) => Object.keys(m).every((k) => QUALIFIED_NAME.test(k)),
        },
      ],
    )
      .optional()
      .describe('Annotations of the ServiceAccount, such as iam.gke.io/gcp-service-account or eks.amazonaws.com/role-arn.'),
  })
  .describe(
    'kubernetes: annotations of the agent’s own ServiceAccount agent-<name>, for cloud workload identity (every agent runs as its own account, ADR 0016).',
  );
