// The chart's values as one zod schema: `make generate` turns it into
// charts/agent-orchestrator/values.schema.json (Helm checks values against it at install
// and upgrade) and the values table of the chart's README; a test holds values.yaml to
// its defaults.
import { z } from 'zod';
import { securitySettings } from '../../plugins/security/config.ts';

const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'a lowercase DNS label' });
const seconds = (max: number, def: number, what: string): z.ZodDefault<z.ZodInt> => z.int().min(0).max(max).default(def).describe(what);
// Names for RBAC resourceNames: exact object names (DNS subdomains), no wildcards.
const objectName = (what: string): z.ZodString =>
  z
    .string()
    .max(253)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { message: `the name of ${what}` });
const labels = z.record(z.string(), z.string());
const cidr = z
  .string()
  .regex(/^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]+)\/[0-9]{1,3}$/, { message: 'a CIDR such as 10.0.0.1/32 or fd00::/64' });
const port = z.int().min(1).max(65535);
const anything = z.record(z.string(), z.unknown());

export const chartValues = z
  .strictObject({
    fullnameOverride: z
      .string()
      .max(63)
      .default('')
      .describe("Name of the release's objects (default: the release name, with the chart name added when it lacks it)."),
    image: z
      .strictObject({
        repository: z.string().min(1).default('agent-orchestrator/operator').describe('Operator image repository.'),
        tag: z.string().default('').describe("Image tag; the chart's appVersion when empty."),
        digest: z
          .string()
          .regex(/^(sha256:[a-f0-9]{64})?$/, { message: 'a digest is sha256:<64 hex digits>' })
          .default('')
          .describe('Image digest (sha256:...); wins over tag when set.'),
        pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent').describe('Pull policy of the operator image.'),
      })
      .prefault({}),
    imagePullSecrets: z
      .array(z.strictObject({ name: z.string() }))
      .default([])
      .describe('Secrets to pull the operator image with.'),
    replicas: z.int().min(0).max(10).default(1).describe('Operator replicas; one leads (leaderElection), the others stand by.'),
    leaderElection: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe('Run controllers only on the replica holding the leader Lease. Leave on with more than one replica.'),
        leaseDurationSeconds: seconds(300, 15, 'Seconds a standby waits after the last renewal before taking the Lease.'),
        renewDeadlineSeconds: seconds(300, 10, 'Seconds the leader keeps trying to renew before it stops.'),
        retryPeriodSeconds: seconds(60, 2, 'Seconds between attempts to acquire or renew the Lease.'),
      })
      .prefault({}),
    watchNamespaces: z
      .array(dnsLabel)
      .default([])
      .describe('Namespaces to watch. Empty: every namespace, with a ClusterRole; otherwise a Role in each of these.'),
    logging: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('Minimum level of log lines.'),
        format: z.enum(['json', 'text']).default('json').describe('json (one object per line) or text (human-readable lines).'),
      })
      .prefault({}),
    kubeApi: z
      .strictObject({
        qps: z
          .number()
          .gt(0)
          .max(10000)
          .default(100)
          .describe('Sustained requests per second to the API server (client side; API Priority and Fairness protects the server).'),
        burst: z.int().min(1).max(20000).default(200).describe('Requests allowed in a burst above qps.'),
      })
      .prefault({}),
    pluginAdmissionPolicy: z
      .boolean()
      .default(true)
      .describe(
        'Install the ValidatingAdmissionPolicy that carries the plugins’ own admission rules (see docs/plugins.md), so a bad plugin setting is refused when it is applied.',
      ),
    agents: z
      .strictObject({
        drainGraceSeconds: seconds(86400, 120, 'Seconds an Agent going to sleep, rolling or being deleted waits for its running tasks.'),
        startupGraceSeconds: seconds(
          86400,
          120,
          'Seconds a started workload may run without a first heartbeat before the Agent is marked Failed.',
        ),
        admissionPolicy: z
          .boolean()
          .default(true)
          .describe(
            'Install the ValidatingAdmissionPolicy that lets an agent write only its own Lease, its own status and the Tasks assigned to it.',
          ),
        docker: z
          .strictObject({
            host: z
              .string()
              .default('')
              .describe("Docker engine for docker-runtime Agents that name none (empty: the operator's default, the local socket)."),
            network: z.enum(['host', 'none']).default('host').describe('Network of agent containers.'),
            pullPolicy: z.enum(['IfNotPresent', 'Never']).default('IfNotPresent').describe('Pull a missing agent image, or report it.'),
            apiServer: z
              .string()
              .default('')
              .describe("API server URL written into docker agents' kubeconfig (empty: the operator's own)."),
            secrets: z
              .array(objectName('a Secret'))
              .default([])
              .describe(
                "Secrets the operator may read (get, by these names only, in the namespaces it watches) to put into docker agents' env (valueFrom.secretKeyRef) and envFrom (secretRef): a container cannot read them itself. Whoever may create an Agent in a namespace can then have these Secrets of that namespace put into a container (docs/adr/0014-docker-agent-secrets.md). Empty: it reads no Secret for agents. Pods need none of this: the kubelet reads their Secrets.",
              ),
            configMaps: z
              .array(objectName('a ConfigMap'))
              .default([])
              .describe(
                "ConfigMaps the operator may read (get, by these names only) for docker agents' envFrom (configMapRef). Empty: it reads no ConfigMap.",
              ),
          })
          .prefault({}),
        networkPolicy: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe(
                'Render a NetworkPolicy of the agent Pods in each of agents.networkPolicy.namespaces: egress only to the API server, the model endpoints and DNS (enforced where the network plugin supports it). Docker agents are not Pods: it does not reach them.',
              ),
            namespaces: z
              .array(dnsLabel)
              .default([])
              .describe(
                'Namespaces whose agent Pods it confines, one NetworkPolicy each; empty: watchNamespaces (one of the two must name some).',
              ),
            apiServer: z
              .strictObject({
                cidrs: z
                  .array(cidr)
                  .default([])
                  .describe(
                    'Addresses of the API server as agents reach it, after the Service is resolved (its endpoints, e.g. 10.0.0.1/32); empty: those the API server lists for itself (EndpointSlice, else Endpoints, default/kubernetes), looked up at install (helm template has no cluster to ask: set them there).',
                  ),
                ports: z.array(port).default([]).describe('Its ports (6443 on most clusters); empty: looked up with the addresses.'),
              })
              .prefault({}),
            modelEndpoints: z
              .array(
                z.strictObject({
                  name: dnsLabel.describe('What it is, for people reading the policy (e.g. llm-gateway).'),
                  cidr: cidr.describe('Its addresses.'),
                  ports: z.array(port).min(1).default([443]).describe('Its ports.'),
                }),
              )
              .default([])
              .describe('Model endpoints (LLM APIs, gateways) agents may reach: [{name, cidr, ports}].'),
            dns: z
              .array(anything)
              .default([
                {
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                },
              ])
              .describe(
                'Who agents may ask DNS, on port 53 UDP and TCP (NetworkPolicyPeer objects; the default is the cluster DNS); empty: nobody.',
              ),
          })
          .prefault({}),
      })
      .prefault({}),
    security: securitySettings
      .prefault({})
      .describe(
        'The security plugin’s policy for Agents (plugins/security/README.md), enforced twice from these values: by a ValidatingAdmissionPolicy that refuses a violating Agent when it is applied, and by the operator, which does not start its workload. Off by default: turning it on refuses Agents that ran before (cpu and memory limits are required once on).',
      ),
    tasks: z
      .strictObject({
        reassignDelaySeconds: seconds(
          3600,
          5,
          'Seconds a task handed back by a lost, sleeping or deleted agent waits before it is routed again.',
        ),
        timeoutGraceSeconds: seconds(
          3600,
          30,
          'Seconds past spec.timeoutSeconds before the operator fails an attempt the runner did not end.',
        ),
      })
      .prefault({}),
    plugins: z
      .strictObject({
        modules: z
          .array(
            z
              .string()
              .min(1)
              .regex(/^[^,]+$/, { message: 'a path without commas' }),
          )
          .default([])
          .describe(
            'Out-of-tree plugin modules the operator loads at start, one --plugin flag each: paths in the container, e.g. /app/plugins/team-score/index.mjs (see docs/plugins.md).',
          ),
        volumes: z
          .array(anything)
          .default([])
          .describe('Volumes holding the modules (Kubernetes Volume objects: a ConfigMap, an image volume, ...).'),
        volumeMounts: z
          .array(anything)
          .default([])
          .describe('Where the operator container mounts them (VolumeMount objects); under /app/plugins, modules find the operator’s zod.'),
      })
      .prefault({}),
    extraArgs: z
      .array(z.string().regex(/^--[a-z]/, { message: 'an operator flag, --name=value' }))
      .default([])
      .describe('More operator flags, e.g. ["--task-workers=16"] (see docs/configuration.md).'),
    extraEnv: z.array(anything).default([]).describe('More environment variables of the operator container (Kubernetes EnvVar objects).'),
    resources: anything
      .default({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '512Mi' } })
      .describe('Resources of the operator container.'),
    podLabels: labels.default({}).describe('Labels added to the operator Pods.'),
    podAnnotations: labels.default({}).describe('Annotations added to the operator Pods.'),
    nodeSelector: labels.default({}).describe('Node selector of the operator Pods.'),
    tolerations: z.array(anything).default([]).describe('Tolerations of the operator Pods.'),
    affinity: anything.default({}).describe('Affinity of the operator Pods.'),
    topologySpreadConstraints: z
      .array(anything)
      .default([])
      .describe('Topology spread of the operator Pods; empty spreads replicas across nodes when replicas > 1.'),
    priorityClassName: z.string().default('').describe('Priority class of the operator Pods.'),
    podDisruptionBudget: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Render a PodDisruptionBudget when replicas > 1.'),
        minAvailable: z.int().min(0).default(1).describe('Replicas that must stay up during voluntary disruptions.'),
        unhealthyPodEvictionPolicy: z
          .enum(['AlwaysAllow', 'IfHealthyBudget'])
          .default('AlwaysAllow')
          .describe(
            'Eviction of a replica that is not Ready: AlwaysAllow (it protects nothing, so it never blocks a node drain) or IfHealthyBudget (only while the budget is met).',
          ),
      })
      .prefault({}),
    networkPolicy: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'Render a NetworkPolicy of the operator Pods (enforced where the network plugin supports it): ingress only to the metrics and health ports, egress as networkPolicy.egress.',
          ),
        metricsFrom: z
          .array(anything)
          .default([])
          .describe("Who may reach the metrics port (NetworkPolicyPeer objects, e.g. your Prometheus' namespace); empty: any source."),
        egress: z
          .array(anything)
          .default([{}])
          .describe(
            'Egress rules of the operator Pods (NetworkPolicyEgressRule objects). The default allows all: the API server, webhook endpoints and Docker engines are at addresses the chart cannot know.',
          ),
      })
      .prefault({}),
    serviceAccount: z
      .strictObject({
        create: z
          .boolean()
          .default(true)
          .describe("Create the operator's ServiceAccount (else use serviceAccount.name, which must exist)."),
        name: z.string().default('').describe("Its name (default: the release's object name)."),
        annotations: labels.default({}).describe('Annotations of the ServiceAccount.'),
      })
      .prefault({}),
    crds: z
      .strictObject({
        install: z
          .boolean()
          .default(true)
          .describe(
            'Install the CRDs with the chart (Helm installs them first and never deletes them; upgrade them with kubectl apply --server-side -f crds/).',
          ),
        // Helm passes these values to the crds subchart and adds its globals to them.
        global: anything.optional(),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Serve Prometheus metrics and render the metrics Service.'),
        port: z.int().min(1).max(65535).default(8080).describe('Container port of /metrics.'),
        service: z
          .strictObject({
            type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP').describe('Type of the metrics Service.'),
            port: z.int().min(1).max(65535).default(8080).describe('Port of the metrics Service.'),
            annotations: labels.default({}).describe('Annotations of the metrics Service.'),
          })
          .prefault({}),
        serviceMonitor: z
          .strictObject({
            enabled: z.boolean().default(false).describe('Render a ServiceMonitor (Prometheus Operator CRDs needed).'),
            interval: z
              .string()
              .regex(/^\d+(ms|s|m|h)$/, { message: 'a duration such as 30s' })
              .default('30s')
              .describe('Scrape interval.'),
            labels: labels.default({}).describe('Labels your Prometheus selects ServiceMonitors by.'),
          })
          .prefault({}),
        prometheusRule: z
          .strictObject({
            enabled: z.boolean().default(false).describe('Render a PrometheusRule with the alerts (Prometheus Operator CRDs needed).'),
            labels: labels.default({}).describe('Labels your Prometheus selects rules by.'),
            pendingTasksThreshold: z.int().min(1).default(50).describe('Pending tasks in a namespace that count as a backed-up queue.'),
            failureRatioThreshold: z
              .number()
              .gt(0)
              .max(1)
              .default(0.2)
              .describe('Share of tasks ending Failed (over 15 minutes) that alerts.'),
          })
          .prefault({}),
        dashboard: z
          .strictObject({
            enabled: z.boolean().default(false).describe("Render the Grafana dashboard as a ConfigMap (for Grafana's dashboard sidecar)."),
            labels: labels.default({ grafana_dashboard: '1' }).describe('Labels the Grafana sidecar selects dashboards by.'),
          })
          .prefault({}),
      })
      .prefault({}),
    health: z
      .strictObject({ port: z.int().min(1).max(65535).default(8081).describe('Container port of /healthz and /readyz.') })
      .prefault({}),
    hooks: z
      .strictObject({
        signingSecrets: z
          .array(
            z
              .string()
              .max(253)
              .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { message: 'the name of a Secret' }),
          )
          .default([])
          .describe(
            'Secrets the operator may read (get, by these names only, in the namespaces it watches): the signing keys of webhook endpoints (spec.plugins.hooks.endpoints[].signingSecret, plugins/hooks/README.md). Empty: it reads no Secret.',
          ),
      })
      .prefault({}),
    threatDetection: z
      .strictObject({
        auditWebhook: z
          .strictObject({
            enabled: z
              .boolean()
              .default(false)
              .describe(
                "Serve POST /audit for the API server's audit webhook backend, so refusals (403) of agent identities reach the threat-detection plugin (plugins/threat-detection/README.md). The API server's --audit-webhook-config-file must point at the audit Service.",
              ),
            port: port.default(8443).describe('Container and Service port of /audit.'),
            tlsSecret: z
              .string()
              .max(253)
              .default('')
              .describe('A kubernetes.io/tls Secret (tls.crt, tls.key) /audit is served with; empty: plain HTTP.'),
            tokenSecret: z
              .strictObject({
                name: z.string().max(253).default('').describe('The Secret; empty: no token is asked for.'),
                key: z.string().max(253).default('token').describe('Its key.'),
              })
              .prefault({})
              .describe(
                "A Secret key holding the bearer token of the API server's audit webhook kubeconfig; /audit refuses a POST without it. Needs tlsSecret (the API server sends no token over plain HTTP).",
              ),
          })
          .prefault({}),
      })
      .prefault({}),
    policies: z
      .array(
        z.strictObject({
          name: dnsLabel.describe('Name of the OrchestratorPolicy.'),
          namespace: dnsLabel.optional().describe("Its namespace (default: the release's)."),
          spec: anything.optional().describe('Its spec (see docs/autoscaling.md); the CRD validates it.'),
        }),
      )
      .default([])
      .describe(
        'OrchestratorPolicies to render: [{name, namespace, spec}]. One per namespace; spec.plugins.<name> configures every plugin (docs/autoscaling.md, docs/plugins.md; an example per plugin family is in this README).',
      ),
  })
  .refine((v) => v.replicas <= 1 || v.leaderElection.enabled, {
    message: 'leaderElection.enabled must be true when replicas > 1',
    path: ['leaderElection', 'enabled'],
  })
  .describe('Values of the agent-orchestrator chart.');
