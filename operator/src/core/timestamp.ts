/**
 * An instant as Kubernetes writes metav1.Time: RFC 3339, UTC, whole seconds
 * ("2026-11-30T10:00:00Z"); the milliseconds are dropped.
 */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
