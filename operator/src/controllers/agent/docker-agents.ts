import type { Config } from '../../config/config.ts';
import { referencedObjects, resolveContainerEnv, type Lookup, type SourceRef } from '../../core/container-env.ts';
import type { Clock } from '../../runtime/clock.ts';
import { ApiError, isNotFound } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { ConfigMaps, Secrets, ServiceAccounts, objectPath } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import { FILES_DIR } from '../../runtimes/docker/agent-files.ts';
import type * as DockerCode from '../../runtimes/docker/docker-runtime.ts';
import type { DockerRuntime } from '../../runtimes/docker/docker-runtime.ts';
import { AgentRbac } from '../../runtimes/kubernetes/agent-rbac.ts';
import { agentIdentity } from '../../runtimes/kubernetes/agent-role.ts';
import { WorkloadError, type AgentRef, type EnvFromSource, type EnvVar } from '../../runtimes/runtime.ts';

/** Where the runner inside a container finds its credentials (see runner/config.ts). */
const CREDENTIALS_DIR = FILES_DIR;
const TOKEN_SECONDS = 3600;
const REFRESH_EVERY_MS = 20 * 60_000;

const Objects = { Secret: Secrets, ConfigMap: ConfigMaps } as const;

/** A container's environment, and the envFrom keys left out of it (for an Event). */
export interface ContainerEnv {
  env: EnvVar[];
  skipped: string[];
}

// dockerode and its HTTP stack cost the operator about 12 MB of RSS: loaded with the
// first docker Agent, not by an operator that runs Pods only.
let dockerCode: Promise<typeof DockerCode> | undefined;
const loadDockerCode = (): Promise<typeof DockerCode> => (dockerCode ??= import('../../runtimes/docker/docker-runtime.ts'));

/**
 * Docker engines for Agents of `runtime.type: docker`, one runtime per endpoint, and the
 * credentials their runners use: a kubeconfig whose token is the Agent ServiceAccount's
 * (short-lived, re-copied into the container before it expires), so a containerised
 * agent reaches the API server as itself, never as the operator.
 */
export class DockerAgents {
  private readonly runtimes = new Map<string, Promise<DockerRuntime>>();
  private readonly started = new Map<string, DockerRuntime>();
  private readonly refreshed = new Map<string, number>();
  private readonly config: Config;
  private readonly client: RestClient;
  private readonly rbac: AgentRbac;
  private readonly server: string;
  private readonly clock: Clock;

  constructor(config: Config, client: RestClient, writer: Writer, clock: Clock) {
    this.config = config;
    this.clock = clock;
    this.client = client;
    this.rbac = new AgentRbac(writer, client);
    this.server = config.agentApiServer ?? client.access.server;
  }

  /** The runtime for an Agent's endpoint (spec.runtime.docker.host, else the default). */
  runtimeFor(host: string | undefined): Promise<DockerRuntime> {
    const endpoint = host ?? this.config.dockerHost;
    let runtime = this.runtimes.get(endpoint);
    if (!runtime) {
      runtime = this.start(endpoint);
      this.runtimes.set(endpoint, runtime);
      // An invalid endpoint is reported again on the next reconcile, not remembered.
      runtime.catch(() => this.runtimes.delete(endpoint));
    }
    return runtime;
  }

  /** Every endpoint in use, for the orphan sweep. */
  all(): DockerRuntime[] {
    return [...this.started.values()];
  }

  private async start(endpoint: string): Promise<DockerRuntime> {
    const { DockerRuntime, dockerClientFor } = await loadDockerCode();
    const runtime = new DockerRuntime({
      docker: dockerClientFor(endpoint, this.config.dockerRequestTimeoutSeconds * 1000),
      endpoint,
      network: this.config.dockerNetwork,
      pullPolicy: this.config.dockerPullPolicy,
      files: async (agent) => {
        const files = await this.credentials(agent);
        this.refreshed.set(agent.uid, this.clock.now());
        return files;
      },
    });
    this.started.set(endpoint, runtime);
    return runtime;
  }

  /**
   * A container's environment: the Agent's identity, where its kubeconfig is, and the
   * spec's env and envFrom with their Secrets and ConfigMaps read (a container cannot read
   * them). Read as the operator, which the chart lets read only the names it lists
   * (docs/adr/0014-docker-agent-secrets.md): an object it may not read, or one missing,
   * is a WorkloadError naming the variable and the fix, reported on the Agent and retried
   * with the restart backoff.
   */
  async containerEnv(agent: AgentRef, env: readonly EnvVar[], envFrom: readonly EnvFromSource[] = []): Promise<ContainerEnv> {
    const refs = referencedObjects(env, envFrom);
    const read = new Map<string, Lookup>(
      await Promise.all(refs.map(async (ref) => [`${ref.kind}/${ref.name}`, await this.read(agent.namespace, ref)] as const)),
    );
    const resolved = resolveContainerEnv(agent.namespace, env, envFrom, (ref) => read.get(`${ref.kind}/${ref.name}`) ?? 'NotFound');
    if (!resolved.ok) throw new WorkloadError(resolved.reason, resolved.message);
    return {
      env: [
        { name: 'AGENT_NAME', value: agent.name },
        { name: 'AGENT_NAMESPACE', value: agent.namespace },
        { name: 'KUBECONFIG', value: `${CREDENTIALS_DIR}/kubeconfig` },
        ...resolved.env,
      ],
      skipped: resolved.skipped,
    };
  }

  /** One Secret (values decoded) or ConfigMap; any failure but 403 and 404 is the API's, retried as such. */
  private async read(namespace: string, ref: SourceRef): Promise<Lookup> {
    try {
      const obj = await this.client.request<KubeObject & { data?: Record<string, string> }>(
        'GET',
        objectPath(Objects[ref.kind], namespace, ref.name),
      );
      const data = obj.data ?? {};
      if (ref.kind === 'ConfigMap') return { data };
      return { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])) };
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return 'Forbidden';
      if (isNotFound(err)) return 'NotFound';
      throw err;
    }
  }

  /** The Agent is gone: what this process remembers of it goes too. */
  forget(agent: AgentRef): void {
    this.rbac.forget(agent);
    this.refreshed.delete(agent.uid);
  }

  /** Copies a fresh token into a running container well before the old one expires. */
  async refreshCredentialsIfDue(agent: AgentRef, host: string | undefined): Promise<void> {
    const last = this.refreshed.get(agent.uid);
    const now = this.clock.now();
    if (last !== undefined && now - last < REFRESH_EVERY_MS) return;
    // After an operator restart the first refresh comes at once: the token's age is unknown.
    await (await this.runtimeFor(host)).refreshFiles(agent);
    this.refreshed.set(agent.uid, now);
  }

  private async credentials(agent: AgentRef): Promise<Record<string, string>> {
    await this.rbac.ensureAgentAccount(agent, undefined);
    const request = await this.client
      .request<{ status: { token: string } }>('POST', `${objectPath(ServiceAccounts, agent.namespace, agentIdentity(agent.name))}/token`, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: TOKEN_SECONDS } },
      })
      .catch((err: unknown) => {
        // The account was deleted since it was applied: apply it again next time.
        if (isNotFound(err)) this.rbac.forget(agent);
        throw err;
      });
    // The operator's CA, wherever it came from (a file in-cluster), trusted for the same server.
    const { ca } = (await this.client.access.credentials()).tls;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'cluster', cluster: { server: this.server, ...(ca ? { 'certificate-authority-data': ca.toString('base64') } : {}) } },
      ],
      // The tokenFile auth provider re-reads the file, so a refreshed token is picked up.
      // Runners of every release read it (this one without loading client-node).
      users: [{ name: 'agent', user: { 'auth-provider': { name: 'tokenFile', config: { tokenFile: `${CREDENTIALS_DIR}/token` } } } }],
      contexts: [{ name: 'agent', context: { cluster: 'cluster', user: 'agent', namespace: agent.namespace } }],
      'current-context': 'agent',
    };
    return { kubeconfig: JSON.stringify(kubeconfig), token: request.status.token };
  }
}
