import type Docker from 'dockerode';
import { type Clock, systemClock } from '../../runtime/clock.ts';
import type { AgentRef, AgentRuntime, WorkloadSpec, WorkloadStatus } from '../runtime.ts';
import { WorkloadError } from '../runtime.ts';
import { copyAgentFiles } from './agent-files.ts';
import { logText } from './container-logs.ts';
import { containerOptions } from './container-options.ts';
import { endedInFailure, statusOf } from './container-status.ts';
import { dockerError, dockerMessage, isNotFound, isUnreachable, runtimeUnavailable, statusCodeOf } from './docker-errors.ts';
import { followPull } from './image-pull.ts';
import {
  NAMESPACE_LABEL,
  NAME_LABEL,
  RESTART_LABEL,
  SPEC_HASH_LABEL,
  UID_LABEL,
  agentOf,
  agentLabels,
  containerName,
  labelFilter,
} from './labels.ts';
import { hasPersistentWorkspace, ownWorkspace, workspaceVolumeName } from './workspace-volume.ts';

export { dockerClientFor } from './docker-client.ts';
export { FILES_DIR } from './agent-files.ts';

export interface DockerRuntimeOptions {
  docker: Docker;
  /** Where the engine is, for messages: unix:///var/run/docker.sock, tcp://127.0.0.1:2375. */
  endpoint: string;
  /** 'host' (default) lets agents reach an API server on 127.0.0.1; 'none' cuts them off. */
  network?: 'host' | 'none';
  /** 'IfNotPresent' (default) pulls a missing image; 'Never' reports it as ImageNotFound. */
  pullPolicy?: 'IfNotPresent' | 'Never';
  /** Files (a kubeconfig, a token) copied into FILES_DIR before the container starts. */
  files?: (agent: AgentRef) => Promise<Record<string, string>>;
  /** Stamps the copied files' modification time. */
  clock?: Clock;
}

/** A managed container and the Agent it was made for, as list() finds them. */
export interface ManagedWorkload {
  agent: AgentRef;
  status: WorkloadStatus;
}

// Enough of a failed container's log to say why, before MESSAGE_LIMIT trims it.
const LOG_TAIL_LINES = 20;

const sig = (signal: AbortSignal | undefined): { abortSignal?: AbortSignal } => (signal ? { abortSignal: signal } : {});

/**
 * Runs each Agent as one Docker container named ao.<namespace>.<name>. Containers are
 * found by their labels on every call, never remembered, so an operator that restarts
 * adopts the containers it made before. The engine never restarts them by itself
 * (restart policy "no"): the controller restarts them, with backoff, through ensure().
 */
export class DockerRuntime implements AgentRuntime {
  readonly type = 'docker' as const;
  readonly #docker: Docker;
  readonly #endpoint: string;
  readonly #network: 'host' | 'none';
  readonly #pullPolicy: 'IfNotPresent' | 'Never';
  readonly #files: ((agent: AgentRef) => Promise<Record<string, string>>) | undefined;
  readonly #clock: Clock;

  constructor(options: DockerRuntimeOptions) {
    this.#docker = options.docker;
    this.#endpoint = options.endpoint;
    this.#network = options.network ?? 'host';
    this.#pullPolicy = options.pullPolicy ?? 'IfNotPresent';
    this.#files = options.files;
    this.#clock = options.clock ?? systemClock;
  }

  async observe(agent: AgentRef, signal?: AbortSignal): Promise<WorkloadStatus | undefined> {
    return this.#wrap(`observing container ${containerName(agent)}`, async () => {
      const container = pick(await this.#list({ [UID_LABEL]: agent.uid }, signal), agent);
      return container && (await this.#status(container.Id, true, signal));
    });
  }

  async ensure(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadStatus> {
    const { agent } = spec;
    const name = containerName(agent);
    return this.#wrap(`ensuring container ${name}`, async () => {
      const same = await this.#list({ [NAMESPACE_LABEL]: agent.namespace, [NAME_LABEL]: agent.name }, signal);
      // Containers of an earlier Agent of this name hold the name we need.
      for (const orphan of same.filter((c) => c.Labels[UID_LABEL] !== agent.uid)) {
        await this.#removeContainer(orphan.Id, signal);
      }
      let existing = pick(
        same.filter((c) => c.Labels[UID_LABEL] === agent.uid),
        agent,
      );
      if (existing && !isStopped(existing)) return this.#required(existing.Id, signal);
      const restartAsked = spec.restartedAt !== undefined && (existing?.Labels[RESTART_LABEL] ?? '') !== spec.restartedAt;
      if (existing && (existing.Labels[SPEC_HASH_LABEL] !== spec.specHash || existing.State === 'dead' || restartAsked)) {
        // Starting it again would run the old spec, one from before a restart asked for, or
        // cannot work (dead): replace it.
        await this.#removeContainer(existing.Id, signal);
        existing = undefined;
      }
      const container = existing ? this.#docker.getContainer(existing.Id) : await this.#create(spec, signal);
      // On every start, not only after create: one made by a failed ensure is started as it is.
      if (spec.workspace) await this.#ownWorkspace(container, spec.workspace.mountPath, signal);
      await this.#copyFiles(container, agent, signal);
      await this.#start(container, name, signal);
      return this.#required(container.id, signal);
    });
  }

  async remove(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    await this.#wrap(`removing container ${containerName(agent)}`, async () => {
      for (const container of await this.#list({ [UID_LABEL]: agent.uid }, signal)) {
        await this.#removeContainer(container.Id, signal);
      }
    });
  }

  /**
   * Removes the Agent's workspace volume, kept by remove() across sleep and replacement:
   * called once the Agent is being deleted and its container is gone.
   */
  async release(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    await this.#wrap(`removing volume ${workspaceVolumeName(agent)}`, async () => {
      for (const volume of await this.#listVolumes({ [UID_LABEL]: agent.uid }, signal)) await this.#removeVolume(volume.Name, signal);
    });
  }

  /** The Agents of every managed workspace volume on the engine, so the controller can release those that are gone. */
  async listWorkspaces(signal?: AbortSignal): Promise<AgentRef[]> {
    return this.#wrap('listing managed volumes', async () =>
      (await this.#listVolumes({}, signal)).flatMap((v) => {
        const agent = agentOf(labelsOf(v));
        return agent ? [agent] : [];
      }),
    );
  }

  /**
   * Every managed container on the engine, whoever's Agent it was made for, so the
   * controller can remove those whose Agent is gone. Statuses carry no log output.
   */
  async list(signal?: AbortSignal): Promise<ManagedWorkload[]> {
    return this.#wrap('listing managed containers', async () => {
      const workloads: ManagedWorkload[] = [];
      for (const container of await this.#list({}, signal)) {
        const agent = agentOf(container.Labels);
        const status = agent && (await this.#status(container.Id, false, signal));
        if (agent && status) workloads.push({ agent, status });
      }
      return workloads;
    });
  }

  /** Copies the files into the Agent's container again (a rotated token); no-op without one. */
  async refreshFiles(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    await this.#wrap(`copying files into container ${containerName(agent)}`, async () => {
      const container = pick(await this.#list({ [UID_LABEL]: agent.uid }, signal), agent);
      if (container) await this.#copyFiles(this.#docker.getContainer(container.Id), agent, signal);
    });
  }

  async #wrap<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw dockerError(this.#endpoint, doing, err);
    }
  }

  #list(labels: Record<string, string>, signal?: AbortSignal): Promise<Docker.ContainerInfo[]> {
    return this.#docker.listContainers({ all: true, filters: labelFilter(labels), ...sig(signal) });
  }

  /** The container's status, or undefined when it is gone; `withOutput` reads a failed one's log. */
  async #status(id: string, withOutput: boolean, signal?: AbortSignal): Promise<WorkloadStatus | undefined> {
    const container = this.#docker.getContainer(id);
    try {
      const info = await container.inspect(sig(signal));
      if (!withOutput || !endedInFailure(info)) return statusOf(info);
      const log = await container.logs({ stdout: true, stderr: true, follow: false, tail: LOG_TAIL_LINES, ...sig(signal) });
      return statusOf(info, logText(log));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async #required(id: string, signal?: AbortSignal): Promise<WorkloadStatus> {
    const status = await this.#status(id, true, signal);
    if (!status) throw new Error(`container ${id} disappeared while it was being ensured`);
    return status;
  }

  async #removeContainer(id: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.#docker.getContainer(id).remove({ force: true, v: true });
    } catch (err) {
      // 404: already gone. 409: the engine is already removing it.
      if (!isNotFound(err) && statusCodeOf(err) !== 409) throw err;
    }
  }

  #listVolumes(labels: Record<string, string>, signal?: AbortSignal): Promise<EngineVolume[]> {
    // Older engines answer null for no volumes, whatever the types say.
    return this.#docker
      .listVolumes({ filters: labelFilter(labels), ...sig(signal) })
      .then((r) => (r.Volumes as EngineVolume[] | null) ?? []);
  }

  async #removeVolume(name: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.#docker.getVolume(name).remove(sig(signal));
    } catch (err) {
      // 404: already gone. 409 (still in use) is left to fail: the caller retries.
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * The Agent's workspace volume, made if missing. One of an earlier Agent of the same name
   * holds the name: it went with that Agent, so it is removed (its containers already are).
   */
  async #ensureVolume(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    const name = workspaceVolumeName(agent);
    const volume = this.#docker.getVolume(name);
    try {
      const info = (await volume.inspect(sig(signal))) as EngineVolume;
      if (labelsOf(info)?.[UID_LABEL] === agent.uid) return;
      await this.#removeVolume(name, signal);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await this.#docker.createVolume({ Name: name, Labels: agentLabels(agent), ...sig(signal) });
  }

  async #ownWorkspace(container: Docker.Container, mountPath: string, signal?: AbortSignal): Promise<void> {
    const { Config } = await container.inspect(sig(signal));
    await ownWorkspace(container, Config.User, mountPath, Math.floor(this.#clock.now() / 1000), signal);
  }

  async #create(spec: WorkloadSpec, signal?: AbortSignal): Promise<Docker.Container> {
    await this.#ensureImage(spec.image, signal);
    const name = containerName(spec.agent);
    const options = { ...containerOptions(spec, this.#network), ...sig(signal) };
    if (hasPersistentWorkspace(spec)) await this.#ensureVolume(spec.agent, signal);
    try {
      return await this.#docker.createContainer(options);
    } catch (err) {
      if (statusCodeOf(err) === 400) throw new WorkloadError('InvalidSpec', `creating container ${name}: ${dockerMessage(err)}`);
      throw err;
    }
  }

  async #ensureImage(image: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#docker.getImage(image).inspect();
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (this.#pullPolicy === 'Never') {
      throw new WorkloadError(
        'ImageNotFound',
        `image ${image} is not present on the Docker engine at ${this.#endpoint} and pullPolicy is Never`,
      );
    }
    try {
      await followPull(await this.#docker.pull(image, sig(signal)));
    } catch (err) {
      if (isUnreachable(err)) throw runtimeUnavailable(this.#endpoint, err);
      if (err instanceof Error && err.name === 'AbortError') throw err;
      throw new WorkloadError(
        'ImagePullFailed',
        `pulling image ${image} on the Docker engine at ${this.#endpoint} failed: ${dockerMessage(err)}`,
      );
    }
  }

  async #copyFiles(container: Docker.Container, agent: AgentRef, signal?: AbortSignal): Promise<void> {
    if (!this.#files) return;
    const files = await this.#files(agent);
    const { Config } = await container.inspect(sig(signal));
    await copyAgentFiles(container, Config.User, files, Math.floor(this.#clock.now() / 1000), signal);
  }

  async #start(container: Docker.Container, name: string, signal?: AbortSignal): Promise<void> {
    try {
      await container.start(sig(signal));
    } catch (err) {
      const status = statusCodeOf(err);
      if (status === 304) return; // already started
      // The engine answers 400 when the command cannot be run from the image, 500 when the
      // host lacks what the spec asks for (no nvidia device driver for a GPU request).
      if (status === 400 || status === 500) throw new WorkloadError('StartError', `starting container ${name}: ${dockerMessage(err)}`);
      throw err;
    }
  }
}

/** A volume as the engine describes it: Labels is null for one without, whatever the types say. */
type EngineVolume = Omit<Docker.VolumeInspectInfo, 'Labels'> & { Labels: Record<string, string> | null };

function labelsOf(volume: EngineVolume): Record<string, string> | undefined {
  return volume.Labels ?? undefined;
}

function isStopped(container: Docker.ContainerInfo): boolean {
  return container.State === 'created' || container.State === 'exited' || container.State === 'dead';
}

/** The Agent's container among `containers`: the one holding its name, if several match. */
function pick(containers: readonly Docker.ContainerInfo[], agent: AgentRef): Docker.ContainerInfo | undefined {
  const name = `/${containerName(agent)}`;
  return containers.find((c) => c.Names.includes(name)) ?? containers[0];
}
