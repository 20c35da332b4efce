import { describe, expect, it } from 'vitest';
import { ownerLookups, resolveOwner } from './container-user.ts';

const passwd = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1001::/home/node:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:\n';
const group = 'root:x:0:\nstaff:x:50:\nnode:x:1001:\n';

describe('resolveOwner', () => {
  it.each([
    ['', { uid: 0, gid: 0 }],
    ['65532:65532', { uid: 65532, gid: 65532 }],
    ['65532', { uid: 65532, gid: 65532 }],
    ['4242', { uid: 4242, gid: 0 }],
    ['node', { uid: 1000, gid: 1001 }],
    ['node:staff', { uid: 1000, gid: 50 }],
    ['node:7', { uid: 1000, gid: 7 }],
    ['1000:staff', { uid: 1000, gid: 50 }],
  ])('%j runs as %j', (user, owner) => {
    expect(resolveOwner(user, { passwd, group })).toEqual(owner);
  });

  it('names a user or group the image does not know', () => {
    expect(() => resolveOwner('ghost', { passwd, group })).toThrow(`user "ghost" is not in the image's /etc/passwd`);
    expect(() => resolveOwner('node:ghosts', { passwd, group })).toThrow(`group "ghosts" is not in the image's /etc/group`);
    expect(() => resolveOwner('node', {})).toThrow('/etc/passwd');
  });
});

describe('ownerLookups', () => {
  it.each([
    ['', { passwd: false, group: false }],
    ['1:2', { passwd: false, group: false }],
    ['1', { passwd: true, group: false }],
    ['node', { passwd: true, group: false }],
    ['1:staff', { passwd: false, group: true }],
    ['node:staff', { passwd: true, group: true }],
  ])('%j reads %j', (user, needs) => {
    expect(ownerLookups(user)).toEqual(needs);
  });
});
