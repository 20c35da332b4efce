// The security policy's settings: the chart's `security` values, passed to the operator
// as --plugin-settings {"security": ...} and rendered by the same chart into a
// ValidatingAdmissionPolicy (templates/security-policy.yaml). One source, two enforcers.
import { z } from 'zod';

export const validationActions = ['Deny', 'Warn', 'Audit'] as const;
/** The resources whose limits the policy can require. */
export const limitResources = ['cpu', 'memory'] as const;

const patterns = (what: string, max: number): z.ZodArray<z.ZodString> =>
  z
    .array(
      z
        .string()
        .max(1024)
        .regex(/^\S+$/, { message: `must be a non-empty pattern without spaces (${what})` }),
    )
    .max(max);

export const securitySettings = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Check Agents at admission and before their workload starts.'),
    validationActions: z
      .array(z.enum(validationActions))
      .min(1)
      .max(2)
      .refine((a) => new Set(a).size === a.length, { message: 'lists an action twice' })
      .refine((a) => !(a.includes('Deny') && a.includes('Warn')), {
        message: 'Deny and Warn do not go together (as in a ValidatingAdmissionPolicyBinding): use [Deny] or [Warn, Audit]',
      })
      .default(['Deny'])
      .describe('Deny: refuse and do not start; Warn/Audit: warn (kubectl), audit, and start anyway (the roll-out step).'),
    images: z
      .strictObject({
        allow: patterns('e.g. 127.0.0.1:5000/* or ghcr.io/acme/**', 64).default(['**']).describe('Patterns spec.runtime.image must match.'),
      })
      .prefault({}),
    resources: z
      .strictObject({
        requireLimits: z
          .array(z.enum(limitResources))
          .max(2)
          .refine((a) => new Set(a).size === a.length, { message: 'lists a resource twice' })
          .default(['cpu', 'memory'])
          .describe('Resources whose spec.runtime.resources.limits must be set.'),
      })
      .prefault({}),
    runtimeClassName: z
      .strictObject({
        required: z.boolean().default(false).describe('spec.runtime.runtimeClassName must be set.'),
        allow: patterns('e.g. gvisor or kata-*', 64).default(['**']).describe('Patterns a runtimeClassName that is set must match.'),
      })
      .prefault({}),
    secrets: z
      .strictObject({
        allow: patterns('e.g. llm-key or team-a-*', 256)
          .default(['**'])
          .describe('Patterns of the Secrets env (valueFrom.secretKeyRef) and envFrom (secretRef) may name.'),
      })
      .prefault({}),
    docker: z
      .strictObject({
        hosts: patterns('e.g. unix:///var/run/docker.sock', 64)
          .default(['**'])
          .describe('Patterns of the Docker engines spec.runtime.docker.host may name (unset: the operator’s own, always allowed).'),
        gpus: z.boolean().default(true).describe('Docker agents may ask for GPU devices (nvidia.com/gpu limits).'),
      })
      .prefault({}),
  })
  .describe('The security policy for Agents (plugins/security/README.md).');

export type SecuritySettings = z.output<typeof securitySettings>;
