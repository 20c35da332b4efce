// The security policy as a pure function: an Agent's spec and the settings in, every
// violation out, in the order of the spec's fields, each naming its field and the fix.
// The chart's ValidatingAdmissionPolicy (templates/security-policy.yaml) checks the same
// things in the same order with the same messages; test/integration/plugins/security.test.ts
// holds the two to one table.
import type { Agent } from '../../operator/src/api/agent.ts';
import type { SecuritySettings } from './config.ts';
import { globs } from './glob.ts';

export const GPU = 'nvidia.com/gpu';

export interface Violation {
  /** The field's path in the Agent, from the top. */
  readonly path: readonly (string | number)[];
  /** The path as people write it: spec.runtime.env[2].valueFrom.secretKeyRef.name. */
  readonly field: string;
  /** `<field>: <what is wrong> (<the setting>); <the fix>`. */
  readonly message: string;
  /** Whether the field is there and wrong, or required and missing. */
  readonly kind: 'forbidden' | 'missing';
}

/** What the policy needs of an Agent: its spec. */
export type Judged = Pick<Agent, 'spec'>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** spec.runtime.resources.limits['nvidia.com/gpu']: keys that are not identifiers quoted. */
export function fieldOf(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : IDENTIFIER.test(p) ? `${i === 0 ? '' : '.'}${p}` : `['${p}']`)).join('');
}

const listed = (patterns: readonly string[]): string => (patterns.length === 0 ? 'none' : patterns.join(', '));

/** A judge for one set of settings: the patterns are compiled once. */
export function securityJudge(settings: SecuritySettings): (agent: Judged) => Violation[] {
  const image = globs(settings.images.allow);
  const runtimeClass = globs(settings.runtimeClassName.allow);
  const secret = globs(settings.secrets.allow);
  const host = globs(settings.docker.hosts);
  return (agent) => {
    const runtime = agent.spec.runtime;
    const out: Violation[] = [];
    const add = (path: (string | number)[], kind: Violation['kind'], problem: string): void => {
      const field = fieldOf(path);
      out.push({ path, field, kind, message: `${field}: ${problem}` });
    };
    const R = ['spec', 'runtime'];

    if (!image(runtime.image)) {
      add(
        [...R, 'image'],
        'forbidden',
        `${runtime.image} is not in the allowlist (security.images.allow: ${listed(settings.images.allow)}); use an allowed image`,
      );
    }
    for (const name of settings.resources.requireLimits) {
      if (runtime.resources?.limits?.[name] === undefined) {
        add(
          [...R, 'resources', 'limits', name],
          'missing',
          `not set, and the security policy requires ${name} limits (security.resources.requireLimits: ${listed(settings.resources.requireLimits)}); set it`,
        );
      }
    }
    const rc = runtime.runtimeClassName;
    if (rc === undefined && settings.runtimeClassName.required) {
      add(
        [...R, 'runtimeClassName'],
        'missing',
        `not set, and the security policy requires one (security.runtimeClassName.required; allowed: ${listed(settings.runtimeClassName.allow)}); set it`,
      );
    } else if (rc !== undefined && !runtimeClass(rc)) {
      add(
        [...R, 'runtimeClassName'],
        'forbidden',
        `${rc} is not allowed (security.runtimeClassName.allow: ${listed(settings.runtimeClassName.allow)}); use an allowed RuntimeClass`,
      );
    }
    (runtime.env ?? []).forEach((e, i) => {
      const name = e.valueFrom?.secretKeyRef.name;
      if (name !== undefined && !secret(name)) {
        add(
          [...R, 'env', i, 'valueFrom', 'secretKeyRef', 'name'],
          'forbidden',
          `Secret ${name} is not allowed (security.secrets.allow: ${listed(settings.secrets.allow)}); use an allowed Secret`,
        );
      }
    });
    (runtime.envFrom ?? []).forEach((e, i) => {
      const name = e.secretRef?.name;
      if (name !== undefined && !secret(name)) {
        add(
          [...R, 'envFrom', i, 'secretRef', 'name'],
          'forbidden',
          `Secret ${name} is not allowed (security.secrets.allow: ${listed(settings.secrets.allow)}); use an allowed Secret`,
        );
      }
    });
    if (runtime.type === 'docker') {
      const engine = runtime.docker?.host;
      if (engine !== undefined && !host(engine)) {
        add(
          [...R, 'docker', 'host'],
          'forbidden',
          `${engine} is not an allowed Docker engine (security.docker.hosts: ${listed(settings.docker.hosts)}); name an allowed engine, or none for the operator’s own`,
        );
      }
      if (!settings.docker.gpus && runtime.resources?.limits?.[GPU] !== undefined) {
        add(
          [...R, 'resources', 'limits', GPU],
          'forbidden',
          'a docker agent may not ask for GPU devices (security.docker.gpus: false); remove it, or run the agent on the kubernetes runtime',
        );
      }
    }
    return out;
  };
}
