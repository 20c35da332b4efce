import { z } from 'zod';
import { asMap } from './validation.ts';

export {
  GROUP,
  VERSION,
  API_VERSION,
  AGENT_LABEL,
  assignedTo,
  POOL_LABEL,
  POLICY_LABEL,
  TEMPLATE_HASH_ANNOTATION,
  RESTART_ANNOTATION,
  WORKLOAD_FINALIZER,
} from './names.ts';

// RE2-compatible patterns (the API server evaluates them with Go's regexp).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CAPABILITY = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const CONDITION_TYPE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const CONDITION_REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The name of another object in the same namespace (a DNS-1123 subdomain). */
export const objectName = (what: string): z.ZodString =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(DNS_SUBDOMAIN, { message: `must be the name of ${what}: lowercase letters, digits, '-' and '.'` });

/** A DNS-1123 label: usable in object names and label values. */
export const dnsLabel = (what: string): z.ZodString =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(DNS_LABEL, { message: `${what} must be a DNS label: lowercase letters, digits and '-', at most 63` });

/** A capability such as `code-review`, `typescript` or `gpu`: usable as a label value. */
export const capability = z
  .string()
  .min(1)
  .max(63)
  .regex(CAPABILITY, {
    message: "a capability is lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
  })
  .describe('A capability name, such as code-review, typescript or gpu.');

/** An RFC 3339 timestamp as the API server writes it (metav1.Time). */
export const timestamp = z.string().max(64).regex(RFC3339).meta({ format: 'date-time' });

export const nonNegative = (max: number): z.ZodInt => z.int().min(0).max(max);

/** Tokens an agent reported: what it sent to its model, what the model wrote, what the cache served. */
export const tokenCounts = z.object({
  inputTokens: nonNegative(Number.MAX_SAFE_INTEGER).default(0).describe('Tokens sent to the model (prompts), cached ones included.'),
  outputTokens: nonNegative(Number.MAX_SAFE_INTEGER).default(0).describe('Tokens the model generated.'),
  cachedTokens: nonNegative(Number.MAX_SAFE_INTEGER).default(0).describe('Of inputTokens, those served from the prompt cache.'),
});

export const observedGeneration = z
  .int()
  .min(0)
  .max(Number.MAX_SAFE_INTEGER)
  .describe('The metadata.generation of the spec this status describes.');

/** metav1.Condition, the standard shape every Kubernetes API uses. */
export const condition = z
  .object({
    type: z.string().max(316).regex(CONDITION_TYPE).describe('Type of the condition, in CamelCase (Ready, Healthy).'),
    status: z.enum(['True', 'False', 'Unknown']).describe('Status of the condition: True, False or Unknown.'),
    reason: z.string().min(1).max(1024).regex(CONDITION_REASON).describe('A CamelCase, machine-readable reason for the last transition.'),
    message: z.string().max(32768).describe('A human-readable explanation: what happened and what to do.'),
    lastTransitionTime: timestamp.describe('When the status last changed.'),
    observedGeneration: observedGeneration.optional(),
  })
  .describe('A standard Kubernetes condition.');

export type Condition = z.infer<typeof condition>;

export const conditions = asMap(z.array(condition).max(16), 'type').describe(
  'The latest observations of the object, one entry per condition type.',
);
