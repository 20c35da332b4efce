import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../runtime/rest/object.ts';
import { LAST_APPLIED, taskForCache } from './cache-transforms.ts';

const task = (annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'agents.orchestrator.dev/v1alpha1',
  kind: 'Task',
  metadata: { name: 't', namespace: 'n', ...(annotations ? { annotations } : {}) },
  spec: { input: 'do it', payload: { big: 'x'.repeat(100) } },
});

describe('taskForCache', () => {
  it.each([
    { name: 'no annotations', in: task(), out: task() },
    { name: 'other annotations only', in: task({ a: '1' }), out: task({ a: '1' }) },
    { name: "kubectl's last-applied copy", in: task({ a: '1', [LAST_APPLIED]: '{"spec":{}}' }), out: task({ a: '1' }) },
    { name: 'only the last-applied copy', in: task({ [LAST_APPLIED]: '{}' }), out: task({}) },
  ])('$name', (c) => {
    expect(taskForCache(c.in)).toEqual(c.out);
  });

  it('returns the object itself when there is nothing to drop, and never changes its input', () => {
    const plain = task({ a: '1' });
    expect(taskForCache(plain)).toBe(plain);
    const applied = task({ [LAST_APPLIED]: '{}' });
    taskForCache(applied);
    expect(applied.metadata.annotations).toEqual({ [LAST_APPLIED]: '{}' });
  });
});
