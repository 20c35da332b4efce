import { z } from 'zod';

/** An OpenAPI v3 schema node as a CRD holds it (apiextensions.k8s.io/v1 JSONSchemaProps). */
export type SchemaNode = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  anyOf?: SchemaNode[];
  required?: string[];
  description?: string;
};

// What a structural schema may contain. Anything else zod emits is a bug in a schema
// (a union, a $ref...) and must fail generation rather than yield an unusable CRD.
const ALLOWED = new Set([
  'type',
  'format',
  'description',
  'default',
  'enum',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'properties',
  'items',
  'additionalProperties',
  'required',
  'anyOf',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
]);

const SAFE_INT_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]);

/** Converts a zod schema into a structural OpenAPI v3 schema for a CRD. */
export function structuralSchema(schema: z.ZodType): SchemaNode {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' });
  return normalize(json as SchemaNode, '');
}

function normalize(node: SchemaNode, path: string): SchemaNode {
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'propertyNames') continue; // keys of maps are strings already
    if (!ALLOWED.has(key)) throw new Error(`${path || '<root>'}: '${key}' cannot be expressed in a CRD schema`);
    out[key] = value;
  }
  // zod's bounds for a plain z.int() say nothing the API server needs to check.
  if (typeof out.minimum === 'number' && SAFE_INT_BOUNDS.has(out.minimum)) delete out.minimum;
  if (typeof out.maximum === 'number' && SAFE_INT_BOUNDS.has(out.maximum)) delete out.maximum;
  // Timestamps: the server checks `format: date-time`; zod's regex need not be repeated.
  if (out.format === 'date-time') delete out.pattern;
  if (out.properties) {
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([name, child]) => [name, normalize(child, `${path}.${name}`)]));
  }
  if (out.items) out.items = normalize(out.items, `${path}[]`);
  // Unknown fields are pruned by the server (and rejected by strict clients), so a
  // closed object needs no additionalProperties; an open one says so explicitly.
  // metadata is left open in zod (labels, annotations...); the CRD states only its name.
  const openMetadata = path === '.metadata' && typeof out.additionalProperties === 'object';
  if (out['x-kubernetes-preserve-unknown-fields'] === true || out.additionalProperties === false || openMetadata) {
    delete out.additionalProperties;
  } else if (typeof out.additionalProperties === 'object') {
    out.additionalProperties = normalize(out.additionalProperties, `${path}{}`);
  }
  if (out.anyOf) return intOrString(out, path);
  if (!out.type && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    throw new Error(`${path || '<root>'}: every node of a structural schema needs a type`);
  }
  return out;
}

/** `z.union([z.int(), z.string()])` becomes the one union a CRD allows: int-or-string. */
function intOrString(node: SchemaNode, path: string): SchemaNode {
  const branches = node.anyOf ?? [];
  const types = branches.map((b) => b.type).sort();
  if (types.length !== 2 || types[0] !== 'integer' || types[1] !== 'string') {
    throw new Error(`${path}: the only union a CRD schema allows is integer | string`);
  }
  // The branches must be exactly {type: integer} and {type: string}; their checks move
  // up, where each applies only to values of its own type (pattern to strings...).
  const { anyOf: _, ...rest } = node;
  const checks = branches.map(({ type: _t, description: _d, ...check }) => normalize({ type: 'any', ...check }, path));
  return {
    ...rest,
    ...Object.fromEntries(checks.flatMap((c) => Object.entries(c).filter(([k]) => k !== 'type'))),
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
  };
}
