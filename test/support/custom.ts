import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../operator/src/api/common.ts';
import { kinds } from '../../operator/src/api/kinds.ts';
import { messageOf } from './kube.ts';

export type Obj = Record<string, unknown>;

function pluralOf(kind: string): string {
  const def = kinds.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${kind}`);
  return def.plural;
}

/** Typed access to this project's custom resources, as strict as `kubectl apply`. */
export class Custom {
  private readonly api: CustomObjectsApi;
  private readonly namespace: string;

  constructor(kc: KubeConfig, namespace: string) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.namespace = namespace;
  }

  async create(obj: Obj, options: { dryRun?: boolean } = {}): Promise<Obj> {
    return (await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: pluralOf(String(obj.kind)),
      body: obj,
      fieldValidation: 'Strict',
      ...(options.dryRun ? { dryRun: 'All' } : {}),
    })) as Obj;
  }

  /** The Status message the API server answers a create with, or undefined if it accepts it. */
  async rejection(obj: Obj, options: { dryRun?: boolean } = { dryRun: true }): Promise<string | undefined> {
    return this.create(obj, options).then(
      () => undefined,
      (err: unknown) => messageOf(err),
    );
  }

  async get(kind: string, name: string): Promise<Obj> {
    return (await this.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: pluralOf(kind),
      name,
    })) as Obj;
  }

  async replace(obj: Obj): Promise<Obj> {
    const name = String((obj.metadata as Obj).name);
    return (await this.api.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: pluralOf(String(obj.kind)),
      name,
      body: obj,
      fieldValidation: 'Strict',
    })) as Obj;
  }

  async replaceStatus(obj: Obj): Promise<Obj> {
    const name = String((obj.metadata as Obj).name);
    return (await this.api.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: pluralOf(String(obj.kind)),
      name,
      body: obj,
    })) as Obj;
  }
}
