import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IMAGE_NODE_FLAGS, OPERATOR_ENTRY, RUNNER_ENTRY } from './image-entrypoints.ts';

const repo = path.resolve(import.meta.dirname, '..');

describe('image-entrypoints.ts', () => {
  it("says what the Dockerfile's ENTRYPOINTs run, so processes started on this host run as in the images", () => {
    const entrypoints = [...readFileSync(path.join(repo, 'Dockerfile'), 'utf8').matchAll(/^ENTRYPOINT (\[.*\])$/gm)].map(
      (m) => JSON.parse(m[1] ?? '[]') as string[],
    );
    expect(entrypoints).toEqual([
      // The images' WORKDIR is /app; absolute, so an Agent's workingDir can move it.
      ['node', ...IMAGE_NODE_FLAGS, path.join('/app', path.relative(repo, RUNNER_ENTRY))],
      ['node', ...IMAGE_NODE_FLAGS, path.join('/app', path.relative(repo, OPERATOR_ENTRY))],
    ]);
  });
});
