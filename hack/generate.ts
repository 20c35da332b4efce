// make generate: writes crds/, docs/api.md and docs/configuration.md from the zod schemas
// in operator/src/api and operator/src/config, and the chart's generated files (hack/chart).
// With --check, writes nothing and fails when a generated file is out of date.
import { readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { generatedFiles, type ExampleDoc } from '../operator/src/api/generate/files.ts';
import { configurationReference } from '../operator/src/config/reference.ts';
import { chartFiles } from './chart/files.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The YAML documents of examples/, each with its kind, in file order. */
export function readExamples(): ExampleDoc[] {
  const dir = path.join(root, 'examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) =>
      readFileSync(path.join(dir, f), 'utf8')
        .split(/^---\n/m)
        .filter((text) => text.trim() !== '')
        .map((text) => ({ kind: /^kind:\s*(\S+)/m.exec(text)?.[1] ?? '', text })),
    );
}

/** Every file `make generate` writes, by path relative to the repository root. */
export function allGeneratedFiles(): Map<string, string> {
  const files = generatedFiles(readExamples());
  files.set('docs/configuration.md', configurationReference());
  for (const [file, content] of chartFiles(root, files)) files.set(file, content);
  return files;
}

function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const [file, content] of allGeneratedFiles()) {
    const target = path.join(root, file);
    const current = existsSync(target) ? readFileSync(target, 'utf8') : undefined;
    if (current === content) continue;
    stale.push(file);
    if (!check) {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
  }
  if (check && stale.length) {
    process.stderr.write(`out of date with operator/src/api: ${stale.join(', ')}\nrun: make generate\n`);
    process.exit(1);
  }
  process.stdout.write(stale.length ? `wrote ${stale.join(', ')}\n` : 'generated files are up to date\n');
}

if (process.argv[1] === import.meta.filename) main();
