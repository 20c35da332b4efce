import { describe, expect, it } from 'vitest';
import { agentReviewsOf } from '../../operator/src/framework/testing.ts';
import { securitySettings } from './config.ts';
import { security } from './index.ts';

// Errors as the operator prints them at start: the field's path is the chart value's.
const errorsOf = (settings: Record<string, unknown>): string[] => agentReviewsOf([security], { security: settings }).errors;

describe('the security settings', () => {
  it('are off by default, with permissive lists and cpu and memory limits required once on', () => {
    expect(securitySettings.parse({})).toEqual({
      enabled: false,
      validationActions: ['Deny'],
      images: { allow: ['**'] },
      resources: { requireLimits: ['cpu', 'memory'] },
      runtimeClassName: { required: false, allow: ['**'] },
      secrets: { allow: ['**'] },
      docker: { hosts: ['**'], gpus: true },
    });
  });

  it.each([
    [{ enabled: 'yes' }, 'security.enabled: Invalid input: expected boolean, received string'],
    [{ images: { allow: ['ok/*', 'has space'] } }, 'security.images.allow[1]: must be a non-empty pattern without spaces'],
    [{ images: { allow: [''] } }, 'security.images.allow[0]: must be a non-empty pattern'],
    [{ images: { alow: [] } }, 'security.images.alow: Unrecognized key'],
    [{ imgs: {} }, 'security.imgs: Unrecognized key'],
    [{ resources: { requireLimits: ['gpu'] } }, 'security.resources.requireLimits[0]: Invalid option: expected one of "cpu"|"memory"'],
    [{ resources: { requireLimits: ['cpu', 'cpu'] } }, 'security.resources.requireLimits: lists a resource twice'],
    [{ validationActions: ['Deny', 'Warn'] }, 'security.validationActions: Deny and Warn do not go together'],
    [{ validationActions: [] }, 'security.validationActions: Too small'],
    [{ docker: { gpus: 'no' } }, 'security.docker.gpus: Invalid input: expected boolean'],
  ])('%j: %s', (settings, error) => {
    const errors = errorsOf(settings);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(error);
  });

  it('names a plugin that takes no operator-wide settings', () => {
    expect(agentReviewsOf([security], { secruity: {} }).errors).toEqual([
      'secruity: no plugin takes operator-wide settings by that name; known: security',
    ]);
  });

  it('builds the review only when enabled', () => {
    expect(agentReviewsOf([security], {}).reviews.plugins).toEqual([]);
    expect(agentReviewsOf([security], { security: { enabled: true } }).reviews.plugins.map((p) => p.name)).toEqual(['security']);
  });

  it('takes nothing per namespace: spec.plugins.security is for no setting', () => {
    expect(security.config.safeParse({}).success).toBe(true);
    expect(security.config.safeParse({ images: { allow: ['**'] } }).success).toBe(false);
  });
});
