import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createApiAccount, listen, TEST_API_ACCOUNT, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
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

/** One Sinkron instance (HQ) serving its API; another one syncing HQ's users from it. */
let remoteDatabase: TestDatabase;
let remoteApp: TestApp;
let remoteServer: { url: string; close(): Promise<void> };
let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let hqId: number;

beforeAll(async () => {
  remoteDatabase = await createTestDatabase();
  remoteApp = await buildTestApp(remoteDatabase, { APP_LOCATION_CODE: 'HQ', APP_LOCATION_NAME: 'Head office' });
  remoteServer = await listen(remoteApp.app);
  // The account HQ gives the syncing instance: role `api`, never an admin.
  await createApiAccount(remoteApp);
  const remoteOwn = remoteApp.container.ownLocation.id;
  await insertUsers(remoteDatabase.db, remoteOwn, [
    ...Array.from({ length: 12 }, (_, i) => ({ email: `staff${i + 1}@hq.test`, name: `Staff ${i + 1}`, role: 'vendor' })),
    { email: 'Dev_Vendor1@DKM', name: 'Dev Vendor 1', role: 'vendor' },
    { email: 'left@hq.test', name: 'Left HQ', role: 'vendor', is_active: false },
  ]);

  database = await createTestDatabase();
  t = await buildTestApp(database, {
    EXTERNAL_API_EMAIL: TEST_API_ACCOUNT.email,
    EXTERNAL_API_PASSWORD: TEST_API_ACCOUNT.password,
    REMOTE_PER_PAGE: '5',
  });
  agent = await signedInAgent(t.app);
  hqId = await addLocation(database.db, 'HQ', remoteServer.url);
  const otherId = await addLocation(database.db, 'BRANCH', null);
  const remoteIdOf = async (email: string) => String((await remoteDatabase.db('users').whereRaw('lower(email) = ?', [email]).first('id')).id);
  await insertUsers(database.db, hqId, [
    { email: 'staff1@hq.test', name: 'Staff 1', role: 'vendor', remote_id: await remoteIdOf('staff1@hq.test') },
    { email: 'STAFF2@hq.test', name: 'Staff Two (old)', role: 'vendor', remote_id: await remoteIdOf('staff2@hq.test') },
    { email: 'dev_vendor1@dkm', name: 'Dev Vendor 1', role: 'manager', remote_id: await remoteIdOf('dev_vendor1@dkm') },
    { email: 'left@hq.test', name: 'Left HQ', role: 'vendor', remote_id: await remoteIdOf('left@hq.test') },
    { email: 'retired@hq.test', name: 'Retired', role: 'vendor' },
  ]);
  await insertUsers(database.db, otherId, [{ email: 'dev_vendor1@dkm', name: 'Branch vendor', role: 'vendor' }]);
});
afterAll(async () => {
  await t.close();
  await database.drop();
  await remoteServer.close();
  await remoteApp.close();
  await remoteDatabase.drop();
});

describe('Sync from Server against another Sinkron instance', () => {
  it('previews, executes, and leaves the location equal to the remote list', async () => {
    const runId = await previewSync(agent, hqId);
    const run = await runRow(database.db, runId);
    // The remote lists its own accounts too: 12 staff + dev_vendor1 + left + admin + API account = 16 rows.
    expect(run).toMatchObject({
      status: 'previewed',
      remote_count: 16,
      new_count: 12,
      update_count: 2,
      deactivate_count: 2,
      unchanged_count: 1,
      rejected_count: 0,
      guard_required: false,
    });
    expect((await itemsOf(database.db, runId, 'deactivate')).map((i) => [i.email, reasonText(i)])).toEqual([
      ['left@hq.test', 'inactive on HQ'],
      ['retired@hq.test', 'missing from HQ'],
    ]);
    const updates = await itemsOf(database.db, runId, 'update');
    expect(updates.map((i) => i.after)).toEqual([
      { email: 'STAFF2@hq.test', name: 'Staff 2' },
      { email: 'dev_vendor1@dkm', role: 'vendor' },
    ]);
    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.text).toContain('data-count="new">12<');
    expect(page.text).toContain('Staff Two (old)');

    const before = await snapshot(database.db);
    expect((await executeSync(agent, runId)).status).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    expect((await agent.get(`/admin/users/sync/${runId}`)).text).toContain(
      'Sync completed: 12 added, 2 updated, 0 linked, 2 deactivated (1 inactive on HQ, 1 missing from HQ), 1 unchanged.',
    );

    const remoteUsers = await remoteDatabase
      .db('users')
      .where({ location_id: remoteApp.container.ownLocation.id })
      .select('id', 'email', 'name', 'role', 'is_active')
      .orderByRaw('lower(email)');
    const mirrored = await database
      .db('users')
      .where({ location_id: hqId })
      .whereNot({ email: 'retired@hq.test' })
      .select('remote_id', 'email', 'name', 'role', 'is_active', 'password_hash')
      .orderByRaw('lower(email)');
    expect(mirrored.map((u) => [u.email.toLowerCase(), u.name, u.role, u.is_active, u.remote_id, u.password_hash])).toEqual(
      remoteUsers.map((u) => [u.email.toLowerCase(), u.name, u.role, u.is_active, String(u.id), null]),
    );
    expect(await database.db('users').where({ email: 'retired@hq.test' }).first()).toMatchObject({ is_active: false });
    expect(await database.db('users').where({ email: 'dev_vendor1@dkm' }).orderBy('location_id').pluck('name')).toEqual([
      'Dev Vendor 1',
      'Branch vendor',
    ]);
  });
});
