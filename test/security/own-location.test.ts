import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let ownId: number;
let otherId: number;

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  ownId = t.container.ownLocation.id;
  [{ id: otherId }] = await database.db('locations').insert({ code: 'DEV', name: 'Development', online_url: null }).returning('id');
});

const ownRow = () => database.db('locations').where({ id: ownId }).first();

function rowOf(html: string, code: string): string {
  const row = new RegExp(`<tr data-code="${code}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  if (row === undefined) throw new Error(`no row for ${code}`);
  return row;
}

describe('the instance’s own location (APP_LOCATION_CODE) (issue 26, finding 5)', () => {
  it('when an admin renames it, then it is refused beside the code field and nothing changes', async () => {
    const before = await ownRow();
    const response = await postForm(
      agent,
      `/admin/locations/${ownId}`,
      { code: 'RENAMED', name: before.name, online_url: '' },
      `/admin/locations/${ownId}/edit`,
    );
    expect(response.status).toBe(422);
    expect(response.text).toContain('id="code-error">This instance&#39;s own location keeps its code LOCAL (APP_LOCATION_CODE).');
    expect(await ownRow()).toEqual(before);

    const inIndonesian = await agent
      .post(`/admin/locations/${ownId}`)
      .set('Accept-Language', 'id')
      .type('form')
      .send({ code: 'RENAMED', name: before.name, online_url: '', _csrf: /name="_csrf" value="([^"]+)"/.exec(response.text)![1] });
    expect(inIndonesian.status).toBe(422);
    expect(inIndonesian.text).toContain('Lokasi milik instance ini tetap memakai kode LOCAL (APP_LOCATION_CODE).');
    expect(await ownRow()).toEqual(before);
  });

  it('when an admin deactivates it, then it is refused with a reason and it stays active', async () => {
    const before = await ownRow();
    const response = await postForm(agent, `/admin/locations/${ownId}/deactivate`, {}, '/admin/locations');
    expect(response.status).toBe(422);
    expect(response.text).toContain('This instance&#39;s own location cannot be deactivated: its admins sign in through it.');
    expect(await ownRow()).toEqual(before);
  });

  it('shows its code read-only and offers no Deactivate button for it (other locations keep both)', async () => {
    const ownEdit = (await agent.get(`/admin/locations/${ownId}/edit`)).text;
    expect(/<input id="code"[^>]*\sreadonly[\s>]/.test(ownEdit)).toBe(true);
    expect(ownEdit).toContain('its code cannot be changed here');
    const otherEdit = (await agent.get(`/admin/locations/${otherId}/edit`)).text;
    expect(/<input id="code"[^>]*\sreadonly[\s>]/.test(otherEdit)).toBe(false);

    const page = (await agent.get('/admin/locations')).text;
    expect(rowOf(page, 'LOCAL')).not.toContain('/deactivate');
    expect(rowOf(page, 'DEV')).toContain(`/admin/locations/${otherId}/deactivate`);
  });

  it('when an admin edits its name, then that is saved, and the next start finds the same location and admins', async () => {
    const response = await postForm(
      agent,
      `/admin/locations/${ownId}`,
      { code: 'local', name: 'Head office', online_url: '' },
      `/admin/locations/${ownId}/edit`,
    );
    expect(response.status).toBe(303);
    expect(await ownRow()).toMatchObject({ id: ownId, code: 'LOCAL', name: 'Head office', is_active: true });

    const locationsBefore = await database.db('locations').count({ n: '*' }).first();
    const restarted = await buildTestApp(database, { ADMIN_EMAIL: 'another-first-admin@sinkron.test' });
    try {
      expect(restarted.container.ownLocation.id).toBe(ownId);
      expect(await database.db('locations').count({ n: '*' }).first()).toEqual(locationsBefore);
      expect(await database.db('users').where({ email: 'another-first-admin@sinkron.test' }).first()).toBeUndefined();
      await signedInAgent(restarted.app, TEST_ADMIN);
    } finally {
      await restarted.close();
    }
  });
});
