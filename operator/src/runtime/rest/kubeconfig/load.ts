import { existsSync } from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../clock.ts';
import type { ClusterAccess } from '../cluster-access.ts';
import { loadWithClientNode } from './client-node.ts';
import { type Entry, type Kubeconfig, KubeconfigError, readKubeconfigs } from './file.ts';
import { nativeAccess, type Selected, unsupportedField } from './native.ts';

/** Where Kubernetes mounts a Pod's ServiceAccount credentials. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The environment variables that say where the API server is, as client-go reads them. */
export interface KubeEnvironment {
  readonly KUBECONFIG?: string | undefined;
  readonly HOME?: string | undefined;
  readonly KUBERNETES_SERVICE_HOST?: string | undefined;
  readonly KUBERNETES_SERVICE_PORT?: string | undefined;
}

export interface LoadOptions {
  env: KubeEnvironment;
  /** A context of the kubeconfig other than its current-context. */
  context?: string | undefined;
  /** Tests point these elsewhere. */
  serviceAccountDir?: string;
  clock?: Clock;
}

export interface LoadedAccess {
  access: ClusterAccess;
  /** The kubeconfig file(s), or "in-cluster". */
  source: string;
  context: string | undefined;
  /** The field that needed client-node, when it was loaded. */
  clientNodeFor: string | undefined;
}

/**
 * Finds the API server and credentials the way the operator always has (client-node's
 * loadFromDefault): the files in $KUBECONFIG, else ~/.kube/config, else the Pod's
 * ServiceAccount. client-node itself is imported only for a kubeconfig that needs it.
 */
export async function loadClusterAccess(options: LoadOptions): Promise<LoadedAccess> {
  const clock = options.clock ?? systemClock;
  const files = kubeconfigFiles(options.env);
  if (files.length === 0) {
    const dir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
    if (!existsSync(path.join(dir, 'token'))) {
      throw new KubeconfigError(
        `no kubeconfig: KUBECONFIG is unset, ${options.env.HOME ? path.join(options.env.HOME, '.kube/config') : '~/.kube/config'} does not exist and no ServiceAccount token is mounted at ${dir}; set KUBECONFIG to a kubeconfig file`,
      );
    }
    if (options.context !== undefined)
      throw new KubeconfigError(
        `context ${options.context}: there is no kubeconfig file to choose it from (running in-cluster); set KUBECONFIG or drop the context`,
      );
    return { access: nativeAccess(inCluster(options.env, dir), clock), source: 'in-cluster', context: undefined, clientNodeFor: undefined };
  }
  const kc = await readKubeconfigs(files);
  const { contextName, context, selected } = select(kc, options.context);
  const source = files.join(path.delimiter);
  const unsupported = unsupportedField(selected);
  if (unsupported === undefined) return { access: nativeAccess(selected, clock), source, context: contextName, clientNodeFor: undefined };
  const access = await loadWithClientNode(
    { name: contextName, fields: context.fields },
    { name: selected.clusterName, fields: selected.cluster.fields },
    selected.user && selected.userName !== undefined ? { name: selected.userName, fields: selected.user.fields } : undefined,
  );
  return { access, source, context: contextName, clientNodeFor: unsupported };
}

function kubeconfigFiles(env: KubeEnvironment): string[] {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '');
  const home = env.HOME ? path.join(env.HOME, '.kube', 'config') : undefined;
  return home !== undefined && existsSync(home) ? [home] : [];
}

function select(kc: Kubeconfig, chosen: string | undefined): { contextName: string; context: Entry; selected: Selected } {
  const where = `kubeconfig ${kc.files.join(path.delimiter)}`;
  const contextName = chosen ?? kc.currentContext;
  if (contextName === undefined) {
    throw new KubeconfigError(`${where}: current-context is not set; set it (kubectl config use-context NAME) or choose a context`);
  }
  const context = kc.contexts.get(contextName);
  if (!context)
    throw new KubeconfigError(
      `${where}: no context named ${contextName}${namesOf(kc.contexts)}; fix ${chosen === undefined ? 'current-context' : 'the chosen context'}`,
    );
  const clusterName = context.fields.cluster;
  if (typeof clusterName !== 'string' || clusterName === '')
    throw new KubeconfigError(`${context.source}: contexts[${contextName}].context.cluster is missing; name one of the clusters`);
  const cluster = kc.clusters.get(clusterName);
  if (!cluster)
    throw new KubeconfigError(
      `${context.source}: contexts[${contextName}].context.cluster: no cluster named ${clusterName}${namesOf(kc.clusters)}`,
    );
  const rawUser = context.fields.user;
  if (rawUser !== undefined && rawUser !== null && typeof rawUser !== 'string')
    throw new KubeconfigError(`${context.source}: contexts[${contextName}].context.user must be a string`);
  // No user: requests go unauthenticated, as kubectl sends them.
  const userName = rawUser ? rawUser : undefined;
  const user = userName === undefined ? undefined : kc.users.get(userName);
  if (userName !== undefined && !user)
    throw new KubeconfigError(`${context.source}: contexts[${contextName}].context.user: no user named ${userName}${namesOf(kc.users)}`);
  return { contextName, context, selected: { clusterName, cluster, userName, user } };
}

function namesOf(entries: ReadonlyMap<string, Entry>): string {
  return entries.size === 0 ? ' (there are none)' : ` (there are: ${[...entries.keys()].join(', ')})`;
}

/** The Pod's ServiceAccount, as client-go's InClusterConfig reads it (always https). */
function inCluster(env: KubeEnvironment, dir: string): Selected {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const source = `in-cluster config (${dir})`;
  if (!host || !port) {
    throw new KubeconfigError(
      `${source}: a ServiceAccount token is mounted but KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both set; run in a Pod or set KUBECONFIG`,
    );
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    clusterName: 'in-cluster',
    cluster: { fields: { server, 'certificate-authority': path.join(dir, 'ca.crt') }, source },
    userName: 'in-cluster',
    user: { fields: { tokenFile: path.join(dir, 'token') }, source },
  };
}
