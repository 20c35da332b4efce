/** Who owns the files copied into a container: the user its process runs as. */
export interface Owner {
  uid: number;
  gid: number;
}

const NUMERIC = /^\d+$/;

/** The /etc files resolveOwner needs to turn Docker's Config.User into numbers. */
export function ownerLookups(user: string): { passwd: boolean; group: boolean } {
  const [name = '', group] = user.split(':', 2);
  return { passwd: name !== '' && (!NUMERIC.test(name) || group === undefined), group: group !== undefined && !NUMERIC.test(group) };
}

// name:password:id:... lines, as in /etc/passwd and /etc/group.
function findEntry(file: string | undefined, match: (fields: string[]) => boolean): string[] | undefined {
  for (const line of (file ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && match(fields)) return fields;
  }
  return undefined;
}

/**
 * Resolves Docker's Config.User ("", "uid", "uid:gid", "name", "name:group") the way
 * the engine does when it starts the process: names through the image's own /etc/passwd
 * and /etc/group; a user without a group gets its passwd group, or 0. Needed because
 * putArchive's copyUIDGID looks names up on the engine's host, not in the image.
 */
export function resolveOwner(user: string, files: { passwd?: string | undefined; group?: string | undefined } = {}): Owner {
  const [name = '', group] = user.split(':', 2);
  if (name === '') return { uid: 0, gid: 0 };
  const entry = findEntry(files.passwd, (f) => (NUMERIC.test(name) ? f[2] === name : f[0] === name));
  if (!entry && !NUMERIC.test(name)) throw new Error(`user ${JSON.stringify(name)} is not in the image's /etc/passwd`);
  const uid = Number(entry?.[2] ?? name);
  if (!Number.isSafeInteger(uid)) throw new Error(`user ${JSON.stringify(name)} has no numeric id in the image's /etc/passwd`);
  if (group === undefined) return { uid, gid: Number(entry?.[3] ?? 0) || 0 };
  if (NUMERIC.test(group)) return { uid, gid: Number(group) };
  const groupEntry = findEntry(files.group, (f) => f[0] === group);
  if (!groupEntry) throw new Error(`group ${JSON.stringify(group)} is not in the image's /etc/group`);
  return { uid, gid: Number(groupEntry[2]) };
}
