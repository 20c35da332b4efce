import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdSchemas, kubernetesSchemas, strictSchema } from './kube-schemas.ts';

describe('kubeconform schemas', () => {
  it('make a CRD schema as strict as the API server: no unknown field, except where the CRD keeps them, and in the object metadata', () => {
    const schema = strictSchema({
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 63 } } },
        spec: {
          type: 'object',
          properties: {
            pools: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, metadata: { type: 'object' } } } },
            settings: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
            sizes: { type: 'object', additionalProperties: { type: 'object', properties: { cpu: { type: 'string' } } } },
            note: { type: 'string', nullable: true },
          },
          anyOf: [{ required: ['pools'] }, { properties: { pools: { maxItems: 0 } } }],
        },
      },
    });
    const spec = (schema.properties as Record<string, Record<string, unknown>>).spec as Record<string, unknown>;
    const props = spec.properties as Record<string, Record<string, unknown>>;
    expect(schema.additionalProperties).toBe(false);
    expect((schema.properties as Record<string, Record<string, unknown>>).metadata?.additionalProperties).toBeUndefined();
    expect(spec.additionalProperties).toBe(false);
    // Only the top-level metadata is ObjectMeta; a field named metadata deeper down is the CRD's own.
    expect(props.pools?.items).toMatchObject({ additionalProperties: false, properties: { metadata: { additionalProperties: false } } });
    expect(props.settings?.additionalProperties).toBeUndefined();
    expect(props.labels?.additionalProperties).toEqual({ type: 'string' });
    expect(props.sizes?.additionalProperties).toMatchObject({ additionalProperties: false });
    expect(props.note).toEqual({ type: ['string', 'null'] });
    // Value validations inside anyOf name some properties only: they stay open.
    expect(spec.anyOf).toEqual([{ required: ['pools'] }, { properties: { pools: { maxItems: 0 } } }]);
  });

  it("write each served version of the project's CRDs where kubeconform's template finds it", () => {
    const out = mkdtempSync(path.join(tmpdir(), 'ao-crd-schemas-'));
    try {
      const template = crdSchemas(path.resolve(import.meta.dirname, '../crds'), out);
      const file = template
        .replace('{{ .Group }}', 'agents.orchestrator.dev')
        .replace('{{ .ResourceKind }}', 'orchestratorpolicy')
        .replace('{{ .ResourceAPIVersion }}', 'v1alpha1');
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
        type: 'object',
        additionalProperties: false,
        properties: { spec: { type: 'object' } },
      });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("point kubernetes-validate's $refs at the local _definitions.json, and refuse any other", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ao-k8s-schemas-'));
    try {
      const src = path.join(dir, 'src');
      mkdirSync(src);
      const pdb = {
        $id: 'https://kubernetes.io/api/poddisruptionbudget/policy/v1',
        properties: { spec: { $ref: '/api/_definitions.json#/$defs/io.k8s.api.policy.v1.PodDisruptionBudgetSpec' } },
      };
      writeFileSync(path.join(src, 'poddisruptionbudget-policy-v1.json'), JSON.stringify(pdb));
      writeFileSync(
        path.join(src, '_definitions.json'),
        JSON.stringify({ $id: 'https://kubernetes.io/api/_definitions.json', $defs: { x: { $ref: '#/$defs/y' } } }),
      );
      expect(kubernetesSchemas(src, path.join(dir, 'out'))).toBe(`${dir}/out/{{ .ResourceKind }}{{ .KindSuffix }}.json`);
      expect(JSON.parse(readFileSync(path.join(dir, 'out/poddisruptionbudget-policy-v1.json'), 'utf8'))).toEqual({
        properties: { spec: { $ref: '_definitions.json#/$defs/io.k8s.api.policy.v1.PodDisruptionBudgetSpec' } },
      });
      expect(JSON.parse(readFileSync(path.join(dir, 'out/_definitions.json'), 'utf8'))).toEqual({ $defs: { x: { $ref: '#/$defs/y' } } });
      writeFileSync(path.join(src, 'other-v1.json'), JSON.stringify({ $ref: 'https://example.com/schema.json' }));
      expect(() => kubernetesSchemas(src, path.join(dir, 'out2'))).toThrow(/other-v1.json: a \$ref kubeconform would load from elsewhere/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
