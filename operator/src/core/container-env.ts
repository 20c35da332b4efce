// A container's environment from an Agent's env and envFrom where no kubelet makes it
// (the docker runtime): the kubelet's rules, as a pure function of the objects the
// operator could read. The operator reads Secrets and ConfigMaps only by the names the
// chart grants (docs/adr/0014-docker-agent-secrets.md), so every message that stops a
// start names the variable, the object and the fix.

/** The chart values that let the operator read Secrets and ConfigMaps for docker agents. */
export const CHART_VALUE = { Secret: 'agents.docker.secrets', ConfigMap: 'agents.docker.configMaps' } as const;

/** What the kubelet accepts as a variable name (validation.IsEnvVarName). */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
// Keys named in a message: enough to spot a typo, bounded for the condition.
const KEYS_SHOWN = 20;

export type SourceKind = keyof typeof CHART_VALUE;

export interface SourceRef {
  kind: SourceKind;
  name: string;
}

export interface EnvSpec {
  name: string;
  value?: string | undefined;
  valueFrom?: { secretKeyRef: { name: string; key: string } } | undefined;
}

export interface EnvFromSpec {
  prefix?: string | undefined;
  secretRef?: { name: string; optional?: boolean | undefined } | undefined;
  configMapRef?: { name: string; optional?: boolean | undefined } | undefined;
}

/** What reading one object gave: its values (a Secret's decoded), or why there are none. */
export type Lookup = { data: Readonly<Record<string, string>> } | 'NotFound' | 'Forbidden';

export interface ResolvedEnv {
  ok: true;
  /** Each name once, in the order first seen, with the value that wins. */
  env: { name: string; value: string }[];
  /** envFrom keys left out because they are not variable names, one line per source, as the kubelet reports them. */
  skipped: string[];
}

export interface EnvFailure {
  ok: false;
  /** Condition reason of the first failure: SecretForbidden, SecretNotFound, SecretKeyNotFound, ConfigMapForbidden, ConfigMapNotFound. */
  reason: string;
  /** Every failure, each naming the field, the object and the fix. */
  message: string;
}

const keyOf = (ref: SourceRef): string => `${ref.kind}/${ref.name}`;

function sourceOf(from: EnvFromSpec): (SourceRef & { optional: boolean }) | undefined {
  if (from.secretRef) return { kind: 'Secret', name: from.secretRef.name, optional: from.secretRef.optional === true };
  if (from.configMapRef) return { kind: 'ConfigMap', name: from.configMapRef.name, optional: from.configMapRef.optional === true };
  return undefined;
}

/** The Secrets and ConfigMaps an environment reads, each once. */
export function referencedObjects(env: readonly EnvSpec[], envFrom: readonly EnvFromSpec[] = []): SourceRef[] {
  const refs = new Map<string, SourceRef>();
  const add = (ref: SourceRef): void => {
    if (!refs.has(keyOf(ref))) refs.set(keyOf(ref), ref);
  };
  for (const from of envFrom) {
    const source = sourceOf(from);
    if (source) add({ kind: source.kind, name: source.name });
  }
  for (const e of env) if (e.valueFrom) add({ kind: 'Secret', name: e.valueFrom.secretKeyRef.name });
  return [...refs.values()];
}

/** The message of an object the operator may not read, with the chart value that grants it. */
export function forbiddenMessage(field: string, ref: SourceRef, namespace: string): string {
  return (
    `${field}: the operator may not read ${ref.kind} ${ref.name} in namespace ${namespace}: ` +
    `add ${ref.name} to the chart value ${CHART_VALUE[ref.kind]} (docs/agents.md#secrets-and-envfrom)`
  );
}

function keysOf(data: Readonly<Record<string, string>>): string {
  const keys = Object.keys(data).sort();
  if (keys.length === 0) return 'it has no keys';
  const shown = keys.slice(0, KEYS_SHOWN).join(', ');
  return `its keys: ${shown}${keys.length > KEYS_SHOWN ? `, and ${keys.length - KEYS_SHOWN} more` : ''}`;
}

/**
 * The variables a container gets, as the kubelet makes them: envFrom in order (a later
 * source wins), then env (wins over envFrom). An envFrom key that is not a variable name
 * (with its prefix) is skipped and reported; an optional source that does not exist adds
 * nothing. An object the operator may not read fails the start even when optional: whether
 * it exists cannot be told.
 */
export function resolveContainerEnv(
  namespace: string,
  env: readonly EnvSpec[],
  envFrom: readonly EnvFromSpec[],
  lookup: (ref: SourceRef) => Lookup,
): ResolvedEnv | EnvFailure {
  const values = new Map<string, string>();
  const failures: { reason: string; message: string }[] = [];
  const skipped: string[] = [];

  envFrom.forEach((from, i) => {
    const source = sourceOf(from);
    if (!source) return;
    const field = `envFrom[${i}]`;
    const found = lookup(source);
    if (found === 'Forbidden') {
      failures.push({ reason: `${source.kind}Forbidden`, message: forbiddenMessage(field, source, namespace) });
      return;
    }
    if (found === 'NotFound') {
      if (!source.optional) {
        failures.push({
          reason: `${source.kind}NotFound`,
          message: `${field}: ${source.kind} ${source.name} not found in namespace ${namespace}: create it, or set ${source.kind === 'Secret' ? 'secretRef' : 'configMapRef'}.optional: true to start without it`,
        });
      }
      return;
    }
    const invalid: string[] = [];
    for (const [key, value] of Object.entries(found.data)) {
      const name = `${from.prefix ?? ''}${key}`;
      if (!ENV_NAME.test(name)) invalid.push(key);
      else values.set(name, value);
    }
    if (invalid.length > 0) {
      skipped.push(
        `${field}: keys [${invalid.sort().join(', ')}] of ${source.kind} ${namespace}/${source.name} were skipped: ${from.prefix ? `with prefix ${from.prefix} ` : ''}they are not valid environment variable names`,
      );
    }
  });

  for (const e of env) {
    if (!e.valueFrom) {
      values.set(e.name, e.value ?? '');
      continue;
    }
    const { name, key } = e.valueFrom.secretKeyRef;
    const ref: SourceRef = { kind: 'Secret', name };
    const field = `env ${e.name}`;
    const found = lookup(ref);
    if (found === 'Forbidden') {
      failures.push({ reason: 'SecretForbidden', message: forbiddenMessage(field, ref, namespace) });
    } else if (found === 'NotFound') {
      failures.push({
        reason: 'SecretNotFound',
        message: `${field}: Secret ${name} not found in namespace ${namespace}: create it, or fix spec.runtime.env[${e.name}].valueFrom.secretKeyRef.name`,
      });
    } else if (found.data[key] === undefined) {
      failures.push({
        reason: 'SecretKeyNotFound',
        message: `${field}: Secret ${name} in namespace ${namespace} has no key ${key} (${keysOf(found.data)}): fix spec.runtime.env[${e.name}].valueFrom.secretKeyRef.key or add the key`,
      });
    } else {
      values.set(e.name, found.data[key]);
    }
  }

  const [first] = failures;
  if (first) return { ok: false, reason: first.reason, message: failures.map((f) => f.message).join('; ') };
  return { ok: true, env: [...values].map(([name, value]) => ({ name, value })), skipped };
}
