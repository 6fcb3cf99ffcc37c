import { describe, expect, it } from 'vitest';
import type { RemoteUser } from '../../src/remote/remote-users';
import { LocalUserIndex } from '../../src/sync/preview/local-index';

// COPY text as the database sends it: id, lower(email), is_active, name, remote_id, role; \N is NULL.
const LINES = [
  '1\talice@dev.test\tt\tAlice\tr-1\tadmin',
  '2\tbob@dev.test\tt\tBob\t\\N\t\\N',
  '3\tcarol@dev.test\tf\tCarol\tr-3\tuser',
  '4\tdave@dev.test\tt\tDave\tr-4\tuser',
];
const remote = (email: string, overrides: Partial<RemoteUser> = {}): RemoteUser => ({
  email,
  name: '',
  remoteId: null,
  role: null,
  isActive: true,
  ...overrides,
});
const alice = remote('alice@dev.test', { name: 'Alice', remoteId: 'r-1', role: 'admin' });
const bob = remote('bob@dev.test', { name: 'Bob' });

/** Split across pieces as COPY data arrives, each ending on a whole line. */
const index = () => LocalUserIndex.fromCopyText([`${LINES.slice(0, 1).join('\n')}\n`, `${LINES.slice(1).join('\n')}\n`]);

describe('LocalUserIndex (sorting remote rows against the local users, without the database)', () => {
  it('counts the active users and marks unchanged ones without staging them', () => {
    const local = index();
    expect(local.activeCount).toBe(3);
    expect(local.triage([alice, bob], 1, 0)).toEqual([]);
    expect(Array.from(local.unchangedUserIds())).toEqual([1, 2]);
    expect(local.remoteUserCount).toBe(2);
  });

  it('stages a new email, and a known one whose name, remote id, role or active flag differ', () => {
    const local = index();
    const changed = [
      remote('new@dev.test', { name: 'New' }),
      { ...alice, name: 'Alice B.' },
      { ...bob, role: 'user' },
      remote('carol@dev.test', { name: 'Carol', remoteId: 'r-3', role: 'user', isActive: true }),
    ];
    const staged = local.triage(changed, 2, 10);
    expect(staged.map((row) => [row.user?.email, row.userId, row.page, row.position])).toEqual([
      ['new@dev.test', null, 2, 10],
      ['alice@dev.test', 1, 2, 11],
      ['bob@dev.test', 2, 2, 12],
      ['carol@dev.test', 3, 2, 13],
    ]);
    expect(Array.from(local.unchangedUserIds())).toEqual([]);
  });

  it('stages every copy of an email seen twice, the first one rebuilt from the local row', () => {
    const local = index();
    expect(local.triage([alice], 1, 0)).toEqual([]);
    const staged = local.triage([alice], 2, 1);
    expect(staged).toEqual([
      { user: alice, userId: 1, page: 1, position: 0 },
      { user: alice, userId: 1, page: 2, position: 1 },
    ]);
    expect(local.possibleDuplicates).toEqual(['alice@dev.test']);
    expect(Array.from(local.unchangedUserIds())).toEqual([]);
  });

  it('lists the active local users the remote list did not name, and not the inactive ones', () => {
    const local = index();
    local.triage([alice], 1, 0);
    expect(local.missingActiveUsers()).toEqual([
      { user: null, userId: 2, page: null, position: null },
      { user: null, userId: 4, page: null, position: null },
    ]);
  });

  it('compares values with tabs, backslashes and newlines in their COPY form', () => {
    const local = LocalUserIndex.fromCopyText(['7\todd@dev.test\tt\tA\\tB\\\\C\\nD\t\\N\t\\N\n']);
    expect(local.triage([remote('odd@dev.test', { name: 'A\tB\\C\nD' })], 1, 0)).toEqual([]);
    expect(local.triage([remote('odd@dev.test', { name: 'A B\\C\nD' })], 1, 1)).toHaveLength(2);
  });
});
