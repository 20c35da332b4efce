import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { structuralSchema, type SchemaNode } from '../operator/src/api/generate/structural.ts';
import { kinds } from '../operator/src/api/kinds.ts';
import { allGeneratedFiles, readExamples } from './generate.ts';

const root = path.resolve(import.meta.dirname, '..');

describe('make generate', () => {
  it.each([...allGeneratedFiles()])('%s is up to date with its source', (file, content) => {
    const target = path.join(root, file);
    const current = existsSync(target) ? readFileSync(target, 'utf8') : '';
    // A failure here means a schema changed without `make generate`.
    expect(current === content, `${file} is out of date: run make generate`).toBe(true);
  });
});

// The API server estimates the cost of every CEL rule from these bounds and refuses a
// CRD whose rules could be too expensive, so every list and string must be bounded.
function unbounded(node: SchemaNode, at: string): string[] {
  const here: string[] = [];
  if (node.type === 'array' && node.maxItems === undefined) here.push(`${at}: array without maxItems`);
  const stringy = node.type === 'string' || node['x-kubernetes-int-or-string'] === true;
  if (stringy && node.maxLength === undefined && !node.enum) here.push(`${at}: string without maxLength`);
  const children = [
    ...Object.entries(node.properties ?? {}).map(([k, v]) => unbounded(v, `${at}.${k}`)),
    node.items ? unbounded(node.items, `${at}[]`) : [],
    typeof node.additionalProperties === 'object' ? unbounded(node.additionalProperties, `${at}{}`) : [],
  ];
  return [...here, ...children.flat()];
}

describe.each(kinds)('$kind schema', (kind) => {
  const schema = structuralSchema(kind.schema);

  it('bounds every list and string in spec and status', () => {
    const spec = schema.properties?.spec;
    const status = schema.properties?.status;
    expect([...(spec ? unbounded(spec, 'spec') : []), ...(status ? unbounded(status, 'status') : [])]).toEqual([]);
  });

  it('describes every field (kubectl explain)', () => {
    const missing: string[] = [];
    const visit = (node: SchemaNode, at: string): void => {
      if (!node.description) missing.push(at);
      for (const [k, v] of Object.entries(node.properties ?? {})) visit(v, `${at}.${k}`);
      if (node.items?.properties) for (const [k, v] of Object.entries(node.items.properties)) visit(v, `${at}[].${k}`);
    };
    for (const part of ['spec', 'status']) {
      const node = schema.properties?.[part];
      if (node) visit(node, part);
    }
    expect(missing).toEqual([]);
  });
});

describe('examples/', () => {
  const docs = readExamples();
  it('covers every kind', () => {
    expect(new Set(docs.map((d) => d.kind))).toEqual(new Set(kinds.map((k) => k.kind)));
  });
  it.each(docs.map((d) => [`${d.kind} ${/name:\s*(\S+)/.exec(d.text)?.[1] ?? ''}`, d] as const))(
    '%s satisfies its schema',
    (_label, doc) => {
      const kind = kinds.find((k) => k.kind === doc.kind);
      const result = kind?.schema.safeParse(parse(doc.text));
      expect(result?.error?.issues ?? []).toEqual([]);
    },
  );
});
