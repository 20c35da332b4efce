// kubeconform's schemas, written at test time into a folder outside the repository (nothing
// generated here is committed):
// - Kubernetes' own, from the PyPI package kubernetes-validate (hack/kube-schemas.sh installs
//   it). Its files carry `$id: https://kubernetes.io/api/...` and `$ref`s to
//   `/api/_definitions.json`, which a JSON Schema loader would fetch from that host; here
//   every `$ref` is made relative to the file's folder, so kubeconform reads only local files.
// - The project's CRDs (crds/*.yaml), each served version's openAPIV3Schema as the API server
//   applies it with strict field validation: an object without
//   x-kubernetes-preserve-unknown-fields or additionalProperties takes no other field.
// Usage: node hack/kube-schemas.ts OUT_DIR   (prints kubeconform's -schema-location flags)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const repo = path.resolve(import.meta.dirname, '..');

type Schema = { [key: string]: unknown };

/** Copies the Kubernetes schemas of `src` into `out` with every `$ref` local; returns kubeconform's -schema-location template. */
export function kubernetesSchemas(src: string, out: string): string {
  mkdirSync(out, { recursive: true });
  let refs = 0;
  for (const file of readdirSync(src).filter((f) => f.endsWith('.json'))) {
    const text = readFileSync(path.join(src, file), 'utf8').replaceAll('"/api/_definitions.json#', () => {
      refs++;
      return '"_definitions.json#';
    });
    const schema = JSON.parse(text) as Schema;
    delete schema.$id;
    const remote = JSON.stringify(schema).match(/"\$ref":"(?!#|_definitions\.json#)[^"]*"/);
    if (remote) throw new Error(`${file}: a $ref kubeconform would load from elsewhere: ${remote[0]}`);
    writeFileSync(path.join(out, file), JSON.stringify(schema));
  }
  if (refs === 0) throw new Error(`no $ref to /api/_definitions.json in ${src}: has kubernetes-validate's layout changed?`);
  return `${out}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
}

/** An openAPIV3Schema as JSON Schema, strict as the API server: `metadata` (at the top, where the server applies ObjectMeta) stays open. */
export function strictSchema(schema: Schema, at: string[] = []): Schema {
  const out: Schema = { ...schema };
  const props = out.properties as Record<string, Schema> | undefined;
  if (props) out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, strictSchema(v, [...at, k])]));
  if (typeof out.items === 'object' && out.items !== null) out.items = strictSchema(out.items as Schema, [...at, '[]']);
  if (typeof out.additionalProperties === 'object' && out.additionalProperties !== null) {
    out.additionalProperties = strictSchema(out.additionalProperties as Schema, [...at, '*']);
  }
  if (out.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    delete out.nullable;
  }
  const open =
    out['x-kubernetes-preserve-unknown-fields'] === true ||
    out['x-kubernetes-embedded-resource'] === true ||
    out.additionalProperties !== undefined ||
    (at.length === 1 && at[0] === 'metadata');
  if (out.type === 'object' && !open) out.additionalProperties = false;
  return out;
}

interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: Schema } }[] };
}

/** Writes each CRD's served versions as `<group>/<kind>_<version>.json` under `out`; returns kubeconform's -schema-location template. */
export function crdSchemas(crdDir: string, out: string): string {
  const files = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
  for (const file of files) {
    const crd = parse(readFileSync(path.join(crdDir, file), 'utf8')) as Crd;
    if (crd.kind !== 'CustomResourceDefinition') continue;
    mkdirSync(path.join(out, crd.spec.group), { recursive: true });
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      const schema = v.schema?.openAPIV3Schema;
      if (!schema) throw new Error(`${file}: version ${v.name} has no openAPIV3Schema`);
      const name = `${crd.spec.names.kind.toLowerCase()}_${v.name}.json`;
      writeFileSync(path.join(out, crd.spec.group, name), JSON.stringify(strictSchema(schema), null, 1));
    }
  }
  return `${out}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
}

/** Installs (once) and converts Kubernetes' schemas and the CRDs' into `out`; returns kubeconform's -schema-location flags. */
export function kubeconformSchemaFlags(out: string): string[] {
  const src = execFileSync(path.join(repo, 'hack/kube-schemas.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return [
    '-schema-location',
    kubernetesSchemas(src, path.join(out, 'kubernetes')),
    '-schema-location',
    crdSchemas(path.join(repo, 'crds'), path.join(out, 'crds')),
  ];
}

if (import.meta.filename === process.argv[1]) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node hack/kube-schemas.ts OUT_DIR');
    process.exit(2);
  }
  console.log(kubeconformSchemaFlags(path.resolve(out)).join(' '));
}
