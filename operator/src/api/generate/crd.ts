import { API_VERSION, GROUP, VERSION } from '../common.ts';
import { CATEGORY, crdName, type KindDefinition } from '../kinds.ts';
import { structuralSchema, type SchemaNode } from './structural.ts';

/** The CustomResourceDefinition of a kind, as a plain object ready to serialize. */
export function toCrd(kind: KindDefinition): Record<string, unknown> {
  const schema = structuralSchema(kind.schema);
  const properties = schema.properties ?? {};
  const metadataName = properties.metadata?.properties?.name;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(kind),
      labels: { 'app.kubernetes.io/part-of': 'agent-orchestrator' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        shortNames: [...kind.shortNames],
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: kind.printerColumns.map((c) => ({ ...c })),
          ...(kind.selectableFields.length ? { selectableFields: kind.selectableFields.map((jsonPath) => ({ jsonPath })) } : {}),
          schema: {
            openAPIV3Schema: {
              description: kind.description,
              type: 'object',
              properties: {
                apiVersion: {
                  type: 'string',
                  description: `APIVersion of this object: ${API_VERSION}.`,
                },
                kind: { type: 'string', description: `Kind of this object: ${kind.kind}.` },
                // Only name and generateName may be constrained inside metadata.
                metadata: metadataName ? { type: 'object', properties: { name: metadataName } } : { type: 'object' },
                ...pick(properties, 'spec', 'status'),
              },
              ...(requiredOf(schema).length ? { required: requiredOf(schema) } : {}),
              ...(schema['x-kubernetes-validations'] ? { 'x-kubernetes-validations': schema['x-kubernetes-validations'] } : {}),
            },
          },
        },
      ],
    },
  };
}

function pick(properties: Record<string, SchemaNode>, ...names: string[]): Record<string, SchemaNode> {
  return Object.fromEntries(names.flatMap((n) => (properties[n] ? [[n, properties[n]]] : [])));
}

function requiredOf(schema: SchemaNode): string[] {
  return (schema.required ?? []).filter((r) => r === 'spec');
}
