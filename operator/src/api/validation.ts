import type { z } from 'zod';

/**
 * A cross-field rule enforced twice from one definition: by the API server as CEL
 * (`x-kubernetes-validations` in the generated CRD) and by zod, so the operator, the
 * docs and the server agree. Transition rules (those that read `oldSelf`) have no
 * `holds`: only the server sees the old object.
 */
export interface Rule<T> {
  /** CEL, evaluated by the API server with `self` bound to this node. */
  readonly rule: string;
  /** Names the field and the fix; shown verbatim by kubectl. */
  readonly message: string;
  /** JSONPath, relative to this node, of the field the error is reported on. */
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /** The same rule in TypeScript, on the parsed (defaulted) value. */
  readonly holds?: (self: T) => boolean;
}

/** Attaches rules to a schema: CEL in its JSON-schema metadata, `holds` as a refinement. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly Rule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (r.holds && !r.holds(value)) {
        const path = r.fieldPath ? r.fieldPath.replace(/^\./, '').split('.') : [];
        ctx.addIssue({ code: 'custom', message: r.message, path });
      }
    }
  });
  return refined.meta({
    'x-kubernetes-validations': rules.map(({ rule, message, fieldPath, reason }) => ({
      rule,
      message,
      ...(fieldPath ? { fieldPath } : {}),
      ...(reason ? { reason } : {}),
    })),
  });
}

/** Marks an array as a set (`x-kubernetes-list-type: set`): unique scalar items. */
export function asSet<S extends z.ZodArray>(schema: S): S {
  return schema
    .refine((items) => new Set(items).size === items.length, { message: 'must not contain duplicates' })
    .meta({ 'x-kubernetes-list-type': 'set' });
}

/** Marks an array of objects as a map keyed by `key` (`x-kubernetes-list-type: map`). */
export function asMap<S extends z.ZodArray>(schema: S, key: string): S {
  return schema
    .refine((items) => new Set(items.map((i) => (i as Record<string, unknown>)[key])).size === items.length, {
      message: `must not contain two items with the same ${key}`,
    })
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] });
}
