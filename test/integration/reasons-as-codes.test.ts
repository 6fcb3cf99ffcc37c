import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLatest, migratorConfig } from '../../src/platform/db/migrate';
import { migrations } from '../../migrations/index';
import { useTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers, previewSync, reasonText } from '../support/sync-fixtures';

const MIGRATION = '2026_12_07_150000_store_reasons_as_codes';

/** Every sentence stored before codes, with the code and parameters it must become. */
const ITEM_SENTENCES: Array<[kind: string, sentence: string, code: string, params: Record<string, unknown>]> = [
  ['deactivate', 'inactive on DEV', 'remote_inactive', { location: 'DEV' }],
  ['deactivate', 'missing from DEV-2', 'remote_missing', { location: 'DEV-2' }],
  ['deactivate', 'added by #12', 'revert_added', { run: 12 }],
  ['deactivate', 'reactivated by #7', 'revert_reactivated', { run: 7 }],
  ['conflict', 'no longer exists', 'conflict_gone', {}],
  ['conflict', 'moved to another location', 'conflict_moved', {}],
  [
    'conflict',
    'changed after #3 was executed (last change 2026-12-01 10:00:00 UTC)',
    'conflict_changed',
    { run: 3, changedAt: '2026-12-01 10:00:00 UTC' },
  ],
  [
    'update',
    'changed after #3 was executed (last change 2026-12-01 10:00:00 UTC); reverted anyway',
    'conflict_changed',
    { run: 3, changedAt: '2026-12-01 10:00:00 UTC', accepted: true },
  ],
  ['deactivate', 'a sentence nobody wrote a pattern for', 'legacy', { text: 'a sentence nobody wrote a pattern for' }],
];

const SUPERSEDED_SENTENCES: Array<[sentence: string, code: string, params: Record<string, unknown>]> = [
  ['DEV was edited after the preview.', 'location_edited', { location: 'DEV' }],
  ['DEV was deactivated after the preview.', 'location_deactivated', { location: 'DEV' }],
  [
    'The online URL of DEV changed after the preview (from http://a.test to none).',
    'url_changed',
    { location: 'DEV', from: 'http://a.test', to: '' },
  ],
  [
    'The API login of DEV changed after the preview (from a@x.test to b@x.test).',
    'login_changed',
    { location: 'DEV', from: 'a@x.test', to: 'b@x.test' },
  ],
  ['The API credentials of DEV were removed after the preview.', 'credentials_removed', { location: 'DEV' }],
];

describe('the migration that stores reasons as codes', () => {
  let database: TestDatabase;
  /** Rolls back the migrations after it, then it, one at a time. */
  const rollBackThroughIt = async () => {
    const count = migrations.length - migrations.findIndex(([name]) => name === MIGRATION);
    for (let i = 0; i < count; i++) await database.db.migrate.down(migratorConfig);
  };
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    await migrateLatest(database.db);
    await rollBackThroughIt();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('when existing runs hold English sentences, then they become codes with their parameters, and back again on rollback', async () => {
    const [location] = await database.db('locations').insert({ code: 'DEV', name: 'Dev' }).returning('id');
    const [run] = await database.db('sync_runs').insert({ location_id: location.id, status: 'completed' }).returning('id');
    await database
      .db('sync_run_items')
      .insert(ITEM_SENTENCES.map(([kind, reason], i) => ({ sync_run_id: run.id, kind, email: `u${i}@dev.test`, reason })));
    await database.db('sync_run_items').insert({ sync_run_id: run.id, kind: 'rejected', reason: 'email is missing' });
    const superseded = await database
      .db('sync_runs')
      .insert(SUPERSEDED_SENTENCES.map(([reason]) => ({ location_id: location.id, status: 'superseded', superseded_reason: reason })))
      .returning('id');

    await migrateLatest(database.db);

    const items = await database.db('sync_run_items').where({ sync_run_id: run.id }).whereNot('kind', 'rejected').orderBy('id');
    expect(items.map((i) => [i.reason, i.reason_params])).toEqual(ITEM_SENTENCES.map(([, , code, params]) => [code, params]));
    // The words the pages now make from them are the sentences they were.
    expect(items.map((i) => reasonText(i))).toEqual(ITEM_SENTENCES.map(([, sentence]) => sentence));
    expect(await database.db('sync_run_items').where({ kind: 'rejected' }).first()).toMatchObject({
      reason: 'email is missing',
      reason_params: null,
    });
    const runs = await database
      .db('sync_runs')
      .whereIn(
        'id',
        superseded.map((r: { id: number }) => r.id),
      )
      .orderBy('id');
    expect(runs.map((r) => [r.superseded_reason, r.superseded_params])).toEqual(SUPERSEDED_SENTENCES.map(([, code, params]) => [code, params]));

    await rollBackThroughIt();
    expect(
      (await database.db('sync_run_items').where({ sync_run_id: run.id }).whereNot('kind', 'rejected').orderBy('id')).map((i) => i.reason),
    ).toEqual(ITEM_SENTENCES.map(([, sentence]) => sentence));
    expect(
      (
        await database
          .db('sync_runs')
          .whereIn(
            'id',
            superseded.map((r: { id: number }) => r.id),
          )
          .orderBy('id')
      ).map((r) => r.superseded_reason),
    ).toEqual(SUPERSEDED_SENTENCES.map(([sentence]) => sentence));
    await migrateLatest(database.db);
  });
});

describe('reasons on an Indonesian run page and CSV', () => {
  let database: TestDatabase;
  let t: TestApp;
  let agent: Agent;
  let remote: LaravelServer;
  useTestApp(
    (ctx) => ({ database, t } = ctx),
    () => ({ ...REMOTE_ENV, DEFAULT_LANGUAGE: 'id' }),
  );
  beforeAll(async () => {
    agent = await signedInAgent(t.app);
    remote = await startLaravelServer({
      users: [
        { id: 1, name: 'Still Here', email: 'here@dev.test', role: 'vendor', is_active: true },
        { id: 2, name: 'Turned Off', email: 'off@dev.test', role: 'vendor', is_active: false },
      ],
    });
  });
  afterAll(async () => {
    await remote.close();
  });

  it('when a run deactivates users for each reason and is superseded, then the Indonesian page, history and CSV say why in Indonesian', async () => {
    const locationId = await addLocation(database.db, 'DEV', remote.url);
    await insertUsers(database.db, locationId, [
      { email: 'here@dev.test', name: 'Still Here', role: 'vendor', remote_id: '1' },
      { email: 'off@dev.test', name: 'Turned Off', role: 'vendor', remote_id: '2' },
      { email: 'gone@dev.test', name: 'Gone', role: 'vendor' },
    ]);
    const runId = await previewSync(agent, locationId);
    const page = (await agent.get(`/admin/users/sync/${runId}`)).text;
    expect(page).toContain('nonaktif di DEV');
    expect(page).toContain('tidak ada lagi di DEV');
    const csv = (await agent.get(`/admin/users/sync/${runId}/export.csv`)).text;
    expect(csv).toContain('tidak ada lagi di DEV');

    await t.container.services.locations.update(locationId, { code: 'DEV', name: 'Renamed', online_url: remote.url, drift_cron: '' });
    const superseded = (await agent.get(`/admin/users/sync/${runId}`)).text;
    expect(superseded).toContain('DEV diubah setelah pratinjau dibuat.');
    const history = (await agent.get('/admin/sync-runs')).text;
    expect(history).toContain('DEV diubah setelah pratinjau dibuat.');

    for (const english of ['inactive on', 'missing from', 'was edited after', 'after the preview']) {
      expect(page + csv + superseded + history).not.toContain(english);
    }
  });
});
