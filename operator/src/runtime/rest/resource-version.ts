/**
 * Whether the cache shows the version written or a later one. Another controller writing
 * the same object right after (the policy controller its status, the agent controller an
 * agent's) must not hide the write until the expectation lapses. resourceVersions are
 * opaque, but every API server in use writes etcd revisions, which only grow; a version
 * that is not a number is compared for equality only.
 */
export function atLeast(seen: string | undefined, written: string): boolean {
  if (seen === undefined) return false;
  if (seen === written) return true;
  return (
    /^\d+$/.test(seen) && /^\d+$/.test(written) && (seen.length > written.length || (seen.length === written.length && seen > written))
  );
}
