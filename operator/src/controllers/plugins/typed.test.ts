import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { typedTask } from './typed.ts';

// A Task as the API server serves it: with the defaults the CRD applies.
const served = (spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'agents.orchestrator.dev/v1alpha1',
  kind: 'Task',
  metadata: { name: 't', namespace: 'n', uid: 'u', resourceVersion: '7', labels: { team: 'a' } },
  spec: { requiredCapabilities: ['ts'], priority: 100, timeoutSeconds: 3600, cancel: false, input: 'go', ...spec },
  status: {
    phase: 'Pending',
    conditions: [{ type: 'Scheduled', status: 'False', reason: 'Waiting', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  },
});

describe('typedTask', () => {
  it('shares spec and status with the cached object, frozen, instead of keeping a second copy', () => {
    const cached = served();
    const t = typedTask(cached);
    expect(t?.spec).toBe(cached.spec);
    expect(t?.status).toBe(cached.status);
    expect(t?.metadata).toEqual({ name: 't', namespace: 'n', uid: 'u', resourceVersion: '7', labels: { team: 'a' } });
    expect(() => {
      (t?.spec.requiredCapabilities as string[]).push('gpu');
    }).toThrow(TypeError);
    expect(() => {
      (t?.metadata.labels as Record<string, string>).team = 'b';
    }).toThrow(TypeError);
    expect(cached.spec).toEqual(served().spec);
  });

  it('keeps the parsed copy when parsing changed the object (a default the server did not apply)', () => {
    const { priority: _, ...withoutPriority } = served().spec as Record<string, unknown>;
    const cached = { ...served(), spec: withoutPriority };
    const t = typedTask(cached);
    expect(t?.spec.priority).toBe(100);
    expect(t?.spec).not.toBe(cached.spec);
    expect(Object.isFrozen(cached.spec)).toBe(false);
  });

  it('parses an object once, and leaves out one the schema rejects', () => {
    const cached = served();
    expect(typedTask(cached)).toBe(typedTask(cached));
    expect(typedTask(served({ priority: 'high' }))).toBeUndefined();
  });
});
