import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { laravelPeerUnavailable, startLaravelPeer, type LaravelPeer, type PeerUserInput } from '../support/laravel-peer';
import {
  REMOTE_ENV,
  addLocation,
  confirmLocation,
  executeSync,
  expectPlanApplied,
  itemsOf,
  previewSync,
  runRow,
  snapshot,
  reasonText,
  supersededText,
  withSupersededText,
} from '../support/sync-fixtures';

// Issue 14 against a genuine Laravel 8 app (test/peers/laravel): a remote that marks its users inactive
// is a guarded mass deactivation, and a preview is bound to the URL it was fetched from.

const unavailable = laravelPeerUnavailable();
if (unavailable) console.warn(`Skipping the real-Laravel issue-14 tests: ${unavailable}`);

const STAFF: PeerUserInput[] = Array.from({ length: 12 }, (_, i) => ({
  email: `staf${i + 1}@dev.test`,
  name: ['Siti Nurhaliza', 'Budi Santoso', 'Ni Made Ayu', 'I Gusti Ngurah Rai'][i % 4]! + ` ${i + 1}`,
  role: 'vendor',
}));

describe.skipIf(unavailable !== undefined)('issue 14 against a real Laravel 8 app', () => {
  let database: TestDatabase;
  let t: TestApp;
  let agent: Agent;
  let peer: LaravelPeer;

  beforeAll(async () => {
    database = await createTestDatabase();
    peer = await startLaravelPeer({ users: STAFF });
    t = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '5' });
    agent = await signedInAgent(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await peer?.close();
    await database?.drop();
  });

  it('when Laravel marks every user inactive, then all of them are deactivations "inactive on DEV", in red, and the guard asks for the code', async () => {
    const locationId = await addLocation(database.db, 'DEV', peer.urlFor('paginate'));
    const first = await previewSync(agent, locationId);
    expect((await executeSync(agent, first)).status).toBe(303);
    expect(await runRow(database.db, first)).toMatchObject({ status: 'completed', new_count: STAFF.length + 1 });

    // Every user but the API account, which must stay active for Laravel to let Sinkron sign in.
    await peer.setActive(
      STAFF.map((u) => u.email),
      false,
    );
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({
      status: 'previewed',
      remote_count: STAFF.length + 1,
      local_active_count: STAFF.length + 1,
      update_count: 0,
      deactivate_count: STAFF.length,
      unchanged_count: 1,
      guard_required: true,
      source_url: peer.urlFor('paginate'),
      source_login: peer.apiAccount.email,
    });
    const deactivations = await itemsOf(database.db, runId, 'deactivate');
    expect(deactivations.map((i) => i.email).sort()).toEqual(STAFF.map((u) => u.email).sort());
    expect(new Set(deactivations.map((i) => reasonText(i)))).toEqual(new Set(['inactive on DEV']));

    const page = (await agent.get(`/admin/users/sync/${runId}`)).text;
    expect(page).toContain(`data-count="deactivate">${STAFF.length}<`);
    expect(page).toContain('data-count="update">0<');
    expect(page).toContain('class="badge badge-danger">To deactivate');
    expect(page.replace(/\s+/g, ' ')).toContain(
      `This sync deactivates ${STAFF.length} of the ${STAFF.length + 1} active users of DEV (92%): ${STAFF.length} inactive on DEV.`,
    );
    expect(page).toContain('class="btn btn-danger">Confirm &amp; Execute');
    expect(page).toContain(`Fetched from <a href="${peer.urlFor('paginate')}"`);

    const before = await snapshot(database.db);
    await executeSync(agent, runId);
    expect(await snapshot(database.db)).toEqual(before);
    expect((await executeSync(agent, runId, { confirm_code: 'DEV' })).status).toBe(303);
    await expectPlanApplied(database.db, runId, before);
    // Sinkron now holds what Laravel holds, row by row.
    const laravel = (await peer.users()).map((u) => [u.email.toLowerCase(), u.name, u.is_active, String(u.id)]).sort();
    const sinkron = (await database.db('users').where({ location_id: locationId }).select('email', 'name', 'is_active', 'remote_id'))
      .map((u) => [u.email, u.name, u.is_active, u.remote_id])
      .sort();
    expect(sinkron).toEqual(laravel);
  });

  it('when the location is pointed elsewhere after the preview, then execute changes nothing and the preview is superseded', async () => {
    await peer.setActive(
      STAFF.map((u) => u.email),
      true,
    );
    const locationId = await addLocation(database.db, 'TEST', peer.urlFor('resource'));
    const runId = await previewSync(agent, locationId);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: STAFF.length + 1 });

    // The fix for a wrong URL, made by another instance (or directly in the database) after the preview,
    // and confirmed there, so that the next preview below may use it.
    await database
      .db('locations')
      .where({ id: locationId })
      .update({ online_url: peer.urlFor('simple') });
    await confirmLocation(database.db, locationId);
    const before = await snapshot(database.db);
    const response = await executeSync(agent, runId);
    expect(response.status).toBe(303);
    expect(await snapshot(database.db)).toEqual(before);
    const run = await runRow(database.db, runId);
    expect(run.status).toBe('superseded');
    expect(supersededText(run)).toBe(
      `The online URL of TEST changed after the preview (from ${peer.urlFor('resource')} to ${peer.urlFor('simple')}).`,
    );
    expect((await agent.get(`/admin/users/sync/${runId}`)).text).toContain('This preview was superseded');

    // Fixed on the Locations page instead: the open preview is superseded right away.
    const next = await previewSync(agent, locationId);
    const saved = await postForm(agent, `/admin/locations/${locationId}`, { code: 'TEST', name: 'Test', online_url: peer.urlFor('cursor') });
    expect(saved.status).toBe(303);
    expect(withSupersededText(await runRow(database.db, next))).toMatchObject({
      status: 'superseded',
      superseded_reason: 'TEST was edited after the preview.',
    });
    await executeSync(agent, next);
    expect(await snapshot(database.db)).toEqual(before);
  });
});
