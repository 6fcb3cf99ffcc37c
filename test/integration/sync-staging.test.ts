import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import {
  REMOTE_ENV,
  addLocation,
  executeSync,
  expectPlanApplied,
  insertUsers,
  itemsOf,
  previewSync,
  runRow,
  snapshot,
  reasonText,
} from '../support/sync-fixtures';

// The preview streams the remote rows into its staging table with COPY in text format, where a tab ends a
// column, a newline ends a row, a backslash starts an escape and \N means NULL: these values must arrive
// exactly as sent.
const HOSTILE_NAMES = ['Back\\slash', '\\N', '\\.', 'Ends with a backslash\\', '\\t is not a tab', 'Ünïcødé 名前 🚀 שלום', ''];

// Two different emails whose 32-bit staging hash is the same: the preview must count their copies and
// find one of each, not a duplicate.
const HASH_TWINS = ['twin549599@hash.test', 'twin712382@hash.test'];

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;
let hostileId: number;

const hostileRows = [
  ...HOSTILE_NAMES.map((name, i) => ({ id: i + 1, name, email: `hostile${i}@copy.test`, role: 'vendor', is_active: true })),
  { id: 'id\\twith\\tab', name: 'Odd Id', email: 'odd-id@copy.test', role: '\\N', is_active: true },
  { id: null, name: 'No Role', email: 'no-role@copy.test', role: null, is_active: false },
  { id: 42, name: 'Renamed \\t Remotely\\', email: 'renamed@copy.test', role: 'role\\nwith backslash-n', is_active: true },
  // Control characters, a NUL among them, cannot be stored or shown: each row is rejected with its reason.
  { id: 90, name: 'Tab\tInside', email: 'tab@copy.test', role: 'vendor', is_active: true },
  { id: 91, name: 'Line\nBreak', email: 'line@copy.test', role: 'vendor', is_active: true },
  { id: 92, name: 'Nul\u0000Byte', email: 'nul@copy.test', role: 'vendor', is_active: true },
  { id: 93, name: 'Lone \ud800 surrogate', email: 'surrogate@copy.test', role: 'vendor', is_active: true },
];

beforeAll(async () => {
  database = await createTestDatabase();
  remote = await startLaravelServer({ users: hostileRows, shape: 'paginate' });
  t = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '4' });
  agent = await signedInAgent(t.app);
  hostileId = await addLocation(database.db, 'HOSTILE', remote.url);
  await insertUsers(database.db, hostileId, [{ email: 'renamed@copy.test', name: 'Old Name', role: 'vendor', remote_id: '42' }]);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

describe('staging the remote list', () => {
  it('when names, roles and ids hold backslashes, \\N and unicode, then the plan and the users hold them exactly; control characters reject the row', async () => {
    const runId = await previewSync(agent, hostileId);
    expect(await runRow(database.db, runId)).toMatchObject({ new_count: HOSTILE_NAMES.length + 2, update_count: 1, rejected_count: 4 });
    expect((await itemsOf(database.db, runId, 'rejected')).map((i) => [i.email, reasonText(i)])).toEqual([
      ['tab@copy.test', 'name contains a control character (U+0009)'],
      ['line@copy.test', 'name contains a control character (U+000A)'],
      ['nul@copy.test', 'name contains a control character (U+0000)'],
      ['surrogate@copy.test', 'name contains an unpaired surrogate (U+D800)'],
    ]);

    const newItems = await itemsOf(database.db, runId, 'new');
    expect(newItems.map((i) => i.email)).toEqual([...HOSTILE_NAMES.map((_, i) => `hostile${i}@copy.test`), 'odd-id@copy.test', 'no-role@copy.test']);
    expect(newItems.map((i) => (i.after as { name: string }).name)).toEqual([...HOSTILE_NAMES, 'Odd Id', 'No Role']);
    expect(newItems[HOSTILE_NAMES.length]!.after).toEqual({
      email: 'odd-id@copy.test',
      name: 'Odd Id',
      role: '\\N',
      is_active: true,
      remote_id: 'id\\twith\\tab',
    });
    expect(newItems[HOSTILE_NAMES.length + 1]!.after).toEqual({
      email: 'no-role@copy.test',
      name: 'No Role',
      role: null,
      is_active: false,
      remote_id: null,
    });
    const [update] = await itemsOf(database.db, runId, 'update');
    expect(update).toMatchObject({
      before: { email: 'renamed@copy.test', name: 'Old Name', role: 'vendor' },
      after: { email: 'renamed@copy.test', name: 'Renamed \\t Remotely\\', role: 'role\\nwith backslash-n' },
    });

    const before = await snapshot(database.db);
    const response = await executeSync(agent, runId);
    expect(response.status, response.text).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    const users = await database.db('users').where({ location_id: hostileId }).orderBy('id');
    expect(users.map((u) => [u.email, u.name, u.role, u.remote_id])).toEqual([
      ['renamed@copy.test', 'Renamed \\t Remotely\\', 'role\\nwith backslash-n', '42'],
      ...HOSTILE_NAMES.map((name, i) => [`hostile${i}@copy.test`, name, 'vendor', String(i + 1)]),
      ['odd-id@copy.test', 'Odd Id', '\\N', 'id\\twith\\tab'],
      ['no-role@copy.test', 'No Role', null, null],
    ]);
  });

  it('when two different emails share a staging hash (FNV-1a, 32 bits), then both are planned and only true duplicates are rejected', async () => {
    const twins = await startLaravelServer({
      users: [
        { id: 1, name: 'Twin A', email: HASH_TWINS[0], role: 'vendor', is_active: true },
        { id: 2, name: 'Copy 1', email: 'copy@hash.test', role: 'vendor', is_active: true },
        { id: 3, name: 'Twin B', email: HASH_TWINS[1], role: 'vendor', is_active: true },
        { id: 4, name: 'Copy 2', email: 'COPY@hash.test', role: 'vendor', is_active: true },
      ],
      shape: 'paginate',
    });
    try {
      const twinsId = await addLocation(database.db, 'TWINS', twins.url);
      await insertUsers(database.db, twinsId, [{ email: 'copy@hash.test', name: 'Local Copy', role: 'vendor' }]);
      const runId = await previewSync(agent, twinsId);
      expect(await runRow(database.db, runId)).toMatchObject({
        new_count: 2,
        update_count: 0,
        deactivate_count: 0,
        unchanged_count: 0,
        rejected_count: 2,
      });
      expect((await itemsOf(database.db, runId, 'new')).map((i) => i.email)).toEqual(HASH_TWINS);
      expect((await itemsOf(database.db, runId, 'rejected')).map((i) => [i.email, reasonText(i), i.remote_page])).toEqual([
        ['copy@hash.test', 'email appears 2 times in the remote list', 1],
        ['copy@hash.test', 'email appears 2 times in the remote list', 1],
      ]);
    } finally {
      await twins.close();
    }
  });

  it('when more rows are rejected than are held at once, then the COPY is closed and reopened around them and nothing is lost', async () => {
    // 6,000 broken rows among 3,000 good ones, in pages of 1,000: the rejected rows are written mid-list.
    const rows = Array.from({ length: 9000 }, (_, i) =>
      i % 3 === 2
        ? { id: i, name: `Good ${i}`, email: `good${i}@batch.test`, role: 'vendor', is_active: true }
        : { id: i, name: `Broken ${i}`, email: `broken${i}`, role: 'vendor', is_active: true },
    );
    const batch = await startLaravelServer({ users: rows, shape: 'paginate' });
    const app = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '1000' });
    try {
      const batchId = await addLocation(database.db, 'BATCH', batch.url);
      await insertUsers(database.db, batchId, [
        { email: 'broken8997', name: 'Named by a broken row' },
        { email: 'left@batch.test', name: 'Left' },
      ]);
      const runId = await previewSync(await signedInAgent(app.app), batchId);
      expect(await runRow(database.db, runId)).toMatchObject({
        remote_count: 9000,
        new_count: 3000,
        deactivate_count: 1,
        rejected_count: 6000,
      });
      const rejected = await itemsOf(database.db, runId, 'rejected');
      expect(rejected.map((i) => i.email)).toEqual(rows.filter((_, i) => i % 3 !== 2).map((r) => r.email));
      expect(rejected.map((i) => i.remote_page)).toEqual(rows.flatMap((_, i) => (i % 3 === 2 ? [] : [Math.floor(i / 1000) + 1])));
      const added = await itemsOf(database.db, runId, 'new');
      expect(added.map((i) => i.email)).toEqual(rows.filter((_, i) => i % 3 === 2).map((r) => r.email));
      expect((await itemsOf(database.db, runId, 'deactivate')).map((i) => i.email)).toEqual(['left@batch.test']);
    } finally {
      await app.close();
      await batch.close();
    }
  });

  it('when a long list is planned a stretch at a time, then duplicates across stretches are rejected in every copy and the rest is planned once', async () => {
    // 6,000 remote users in pages of 500, 2,500 of them new, so the plan is written in stretches while the
    // pages arrive. Four emails come twice: both copies in the first stretch, or one in each.
    const remoteRow = (i: number, email = `user${i}@long.test`, name = `User ${i}`) => ({ id: i, name, email, role: 'vendor', is_active: true });
    const rows = Array.from({ length: 6000 }, (_, i) => remoteRow(i));
    rows[10] = remoteRow(10, 'dup-unchanged@long.test', 'Same');
    rows[20] = remoteRow(20, 'dup-changed@long.test', 'New Name');
    rows[30] = remoteRow(30, 'dup-new@long.test');
    rows[40] = remoteRow(40, 'control@long.test', 'Back\\bspace \\u0001 and\\ttab');
    rows[50] = remoteRow(50, 'dup-early@long.test', 'Early');
    rows[4000] = remoteRow(4000, 'dup-early@long.test', 'Early');
    rows[5500] = remoteRow(5500, 'dup-changed@long.test', 'Newer Name');
    rows[5800] = remoteRow(5800, 'DUP-unchanged@long.test', 'Other');
    rows[5900] = remoteRow(5900, 'dup-new@long.test');
    const longRemote = await startLaravelServer({ users: rows, shape: 'paginate' });
    const app = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '500' });
    try {
      const longId = await addLocation(database.db, 'LONG', longRemote.url);
      // Users 0..3499 exist locally and unchanged, except 100..199 (renamed), dup-changed (renamed) and
      // dup-new (not there); two more are gone.
      const local = rows.slice(0, 3500).map((r) => ({ email: r.email, name: r.name, role: r.role, remote_id: String(r.id) }));
      for (let i = 100; i < 200; i++) local[i]!.name = `Old ${i}`;
      local[20]!.name = 'Old Name';
      local.splice(30, 1);
      await insertUsers(database.db, longId, [...local, { email: 'gone1@long.test', name: 'Gone' }, { email: 'gone2@long.test', name: 'Gone' }]);
      const ids = Object.fromEntries(
        (await database.db('users').where({ location_id: longId }).select('email', 'id')).map((u) => [u.email, u.id as number]),
      );

      const runId = await previewSync(await signedInAgent(app.app), longId);
      const run = await runRow(database.db, runId);
      expect(run).toMatchObject({
        remote_count: 6000,
        new_count: 2496,
        update_count: 100,
        deactivate_count: 2,
        rejected_count: 8,
        unchanged_count: 3396,
      });
      expect((await itemsOf(database.db, runId, 'rejected')).map((i) => [i.email, i.remote_page])).toEqual([
        ['dup-unchanged@long.test', 1],
        ['dup-changed@long.test', 1],
        ['dup-new@long.test', 1],
        ['dup-early@long.test', 1],
        ['dup-early@long.test', 9],
        ['dup-changed@long.test', 12],
        ['dup-unchanged@long.test', 12],
        ['dup-new@long.test', 12],
      ]);
      const added = (await itemsOf(database.db, runId, 'new')).map((i) => i.email);
      expect(added).toEqual(
        rows
          .slice(3500)
          .map((r) => r.email)
          .filter((e) => !e.startsWith('dup-') && !e.startsWith('DUP-')),
      );
      expect((await itemsOf(database.db, runId, 'update')).map((i) => i.email)).toEqual(rows.slice(100, 200).map((r) => r.email));
      expect((await itemsOf(database.db, runId, 'deactivate')).map((i) => i.email)).toEqual(['gone1@long.test', 'gone2@long.test']);
      // The control characters compare equal through COPY's escapes: that user is unchanged, not updated.
      const unchanged = run.unchanged_user_ids as number[];
      expect(unchanged).toHaveLength(3396);
      expect(unchanged).toEqual([...unchanged].sort((a, b) => a - b));
      expect(unchanged).toContain(ids['control@long.test']);
      expect(unchanged).not.toContain(ids['dup-unchanged@long.test']);
      expect(unchanged).not.toContain(ids['dup-changed@long.test']);
      expect(unchanged).not.toContain(ids['dup-early@long.test']);

      const before = await snapshot(database.db);
      const response = await executeSync(await signedInAgent(app.app), runId);
      expect(response.status, response.text).toBe(303);
      await expectPlanApplied(database.db, runId, before);
      expect(await database.db('users').where({ id: ids['dup-changed@long.test'] }).first()).toMatchObject({ name: 'Old Name', is_active: true });
    } finally {
      await app.close();
      await longRemote.close();
    }
  });

  it('when local emails hold a backslash or capitals, then the remote rows with those emails match them and nothing is added or deactivated', async () => {
    // The local index looks emails up in their COPY form, where a backslash is written twice.
    const emails = ['back\\slash@copy.test', 'Mixed.Case@Copy.Test', 'tab\\tlike@copy.test'];
    const odd = await startLaravelServer({
      users: emails.map((email, i) => ({ id: i + 1, name: `Odd ${i}`, email: email.toUpperCase(), role: 'vendor', is_active: true })),
      shape: 'paginate',
    });
    try {
      const oddId = await addLocation(database.db, 'ODDMAIL', odd.url);
      await insertUsers(
        database.db,
        oddId,
        emails.map((email, i) => ({ email, name: `Odd ${i}`, role: 'vendor', remote_id: String(i + 1) })),
      );
      const runId = await previewSync(agent, oddId);
      expect(await runRow(database.db, runId)).toMatchObject({
        new_count: 0,
        update_count: 0,
        deactivate_count: 0,
        unchanged_count: 3,
        rejected_count: 0,
      });
    } finally {
      await odd.close();
    }
  });
});
