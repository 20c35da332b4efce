import { describe, expect, it } from 'vitest';
import { task, taskSpec } from './task.ts';

describe('Task schema', () => {
  it('applies defaults', () => {
    expect(taskSpec.parse({})).toEqual({ requiredCapabilities: [], priority: 100, timeoutSeconds: 3600, cancel: false });
  });

  it('keeps any payload as written', () => {
    const payload = { nested: { list: [1, 'two', { three: null }] }, flag: true };
    expect(taskSpec.parse({ payload }).payload).toEqual(payload);
  });

  it.each([
    ['priority above 1000', { priority: 1001 }, 'priority'],
    ['negative priority', { priority: -1 }, 'priority'],
    ['zero timeout', { timeoutSeconds: 0 }, 'timeoutSeconds'],
    ['negative retries', { retries: { max: -1 } }, 'retries.max'],
    ['a capability with a space', { requiredCapabilities: ['code review'] }, 'requiredCapabilities.0'],
    ['a dependency that is not a name', { dependsOn: ['Build_Step'] }, 'dependsOn.0'],
    ['a duplicate dependency', { dependsOn: ['a', 'a'] }, 'dependsOn'],
    ['an unknown affinity field', { affinity: { node: 'x' } }, 'affinity'],
  ])('rejects %s', (_name, spec, path) => {
    const result = taskSpec.safeParse(spec);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('rejects a task that depends on itself, naming the field and the fix', () => {
    const result = task.safeParse({ metadata: { name: 'build' }, spec: { dependsOn: ['lint', 'build'] } });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['spec.dependsOn', 'a Task cannot depend on itself: remove its own name from spec.dependsOn'],
    ]);
    expect(task.safeParse({ metadata: { name: 'build' }, spec: { dependsOn: ['lint'] } }).success).toBe(true);
  });
});
