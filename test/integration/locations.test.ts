import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { csrfToken, postForm, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;

useTestApp((ctx) => ({ database, t } = ctx));
beforeAll(async () => {
  agent = await signedInAgent(t.app);
});

const add = (fields: Record<string, string>) => postForm(agent, '/admin/locations', fields, '/admin/locations');

describe('Locations', () => {
  it('starts with the instance’s own location', async () => {
    const page = await agent.get('/admin/locations');
    expect(page.text).toContain('data-code="LOCAL"');
  });

  it('creates a location, upper-casing its code, and shows a flash message', async () => {
    const response = await add({ code: 'dev', name: 'Development', online_url: 'http://127.0.0.1:8001' });
    expect(response.status).toBe(303);
    const row = await database.db('locations').where({ code: 'DEV' }).first();
    expect(row).toMatchObject({ name: 'Development', online_url: 'http://127.0.0.1:8001', is_active: true });
    const page = await agent.get(response.headers.location!);
    expect(page.text).toContain('Location DEV created.');
  });

  it.each([
    [{ code: '', name: 'X', online_url: '' }, 'code', 'Use 1 to 32 letters, digits, _ or -.'],
    [{ code: 'BAD CODE', name: 'X', online_url: '' }, 'code', 'Use 1 to 32 letters, digits, _ or -.'],
    [{ code: 'OK1', name: '', online_url: '' }, 'name', 'Give the location a name.'],
    [{ code: 'OK2', name: 'X', online_url: 'dev.example.com' }, 'online_url', 'Enter an absolute http:// or https:// URL'],
    [{ code: 'OK3', name: 'X', online_url: 'ftp://dev.example.com' }, 'online_url', 'Enter an absolute http:// or https:// URL'],
    [{ code: 'OK4', name: 'X', online_url: 'http://user:pw@dev.example.com' }, 'online_url', 'Enter an absolute http:// or https:// URL'],
    [{ code: 'dev', name: 'Again', online_url: '' }, 'code', 'A location with code DEV exists.'],
  ])('refuses %j with a message beside the field', async (fields, field, message) => {
    const count = await database.db('locations').count({ n: '*' }).first();
    const response = await add(fields);
    expect(response.status).toBe(422);
    expect(response.text).toMatch(new RegExp(`id="${field}-error">${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(await database.db('locations').count({ n: '*' }).first()).toEqual(count);
  });

  it('edits a location, ignoring fields the form does not have', async () => {
    const dev = await database.db('locations').where({ code: 'DEV' }).first();
    const edit = await agent.get(`/admin/locations/${dev.id}/edit`);
    expect(edit.status).toBe(200);
    const response = await postForm(
      agent,
      `/admin/locations/${dev.id}`,
      { code: 'DEV', name: 'Dev renamed', online_url: 'https://dev.example.com', is_active: 'false', id: '999', created_at: '2000-01-01' },
      `/admin/locations/${dev.id}/edit`,
    );
    expect(response.status).toBe(303);
    const row = await database.db('locations').where({ id: dev.id }).first();
    expect(row).toMatchObject({ id: dev.id, name: 'Dev renamed', online_url: 'https://dev.example.com', is_active: true });
    expect(row.created_at.getFullYear()).not.toBe(2000);
  });

  it('deactivates and activates a location', async () => {
    const dev = await database.db('locations').where({ code: 'DEV' }).first();
    await postForm(agent, `/admin/locations/${dev.id}/deactivate`, {}, '/admin/locations');
    expect((await database.db('locations').where({ id: dev.id }).first()).is_active).toBe(false);
    await postForm(agent, `/admin/locations/${dev.id}/activate`, {}, '/admin/locations');
    expect((await database.db('locations').where({ id: dev.id }).first()).is_active).toBe(true);
  });

  it('answers 404 for an unknown id and 400 for one that is not an integer', async () => {
    expect((await agent.get('/admin/locations/999999/edit')).status).toBe(404);
    expect((await agent.get('/admin/locations/1%20OR%201=1/edit')).status).toBe(400);
  });

  it('refuses a form post without a CSRF token and changes nothing', async () => {
    const response = await agent.post('/admin/locations').type('form').send({ code: 'NOCSRF', name: 'X', online_url: '' });
    expect(response.status).toBe(403);
    expect(await database.db('locations').where({ code: 'NOCSRF' }).first()).toBeUndefined();
  });
});

describe('Two locations on one server (issue 28, point 1)', () => {
  const fieldError = (html: string) => /<p class="field-error" id="online_url-error">([^<]*)<\/p>/.exec(html)?.[1];
  const box = (html: string) => /<input id="same_url_ok" name="same_url_ok" type="checkbox" value="([^"]*)">\s*([^<]*)</.exec(html);

  it('when a location is added with the URL another one uses, then it is refused (422) naming that one, until the admin ticks that they know', async () => {
    expect((await add({ code: 'SRV1', name: 'Server one', online_url: 'http://127.0.0.1:8101' })).status).toBe(303);
    const count = await database.db('locations').count({ n: '*' }).first();

    // The same server spelled another way (a trailing slash, the scheme in capitals) is the same URL.
    const refused = await add({ code: 'SRV2', name: 'Server two', online_url: 'http://127.0.0.1:8101/' });
    expect(refused.status).toBe(422);
    expect(fieldError(refused.text)).toBe(
      'SRV1 already uses this URL: two locations on one server get the same users. If that is what you want, tick the box below and save again.',
    );
    expect(box(refused.text)?.slice(1)).toEqual(['SRV1', 'I know SRV1 already uses this URL']);
    expect(await database.db('locations').count({ n: '*' }).first()).toEqual(count);

    const inIndonesian = await agent
      .post('/admin/locations')
      .set('Accept-Language', 'id')
      .type('form')
      .send({ code: 'SRV2', name: 'Server two', online_url: 'HTTP://127.0.0.1:8101', _csrf: await csrfToken(agent, '/admin/locations') });
    expect(inIndonesian.status).toBe(422);
    expect(fieldError(inIndonesian.text)).toMatch(/^SRV1 sudah memakai URL ini: /);
    expect(box(inIndonesian.text)?.[2]).toBe('Saya tahu SRV1 sudah memakai URL ini');

    // A yes for another location is not a yes for this one.
    expect((await add({ code: 'SRV2', name: 'Server two', online_url: 'http://127.0.0.1:8101', same_url_ok: 'OTHER' })).status).toBe(422);
    expect(await database.db('locations').count({ n: '*' }).first()).toEqual(count);

    const accepted = await add({ code: 'SRV2', name: 'Server two', online_url: 'http://127.0.0.1:8101', same_url_ok: 'SRV1' });
    expect(accepted.status).toBe(303);
    expect(await database.db('locations').where({ code: 'SRV2' }).first()).toMatchObject({ online_url: 'http://127.0.0.1:8101' });
    expect(t.logs.entries().find((e) => e.msg === 'location online URL shared with another location')).toMatchObject({
      code: 'SRV2',
      sharedWith: ['SRV1'],
    });
  });

  it('when a location is edited to the URL others use, then it needs the same yes, and an edit keeping its URL does not', async () => {
    expect((await add({ code: 'SRV3', name: 'Server three', online_url: 'http://127.0.0.1:8103' })).status).toBe(303);
    const srv3 = await database.db('locations').where({ code: 'SRV3' }).first();
    const edit = (fields: Record<string, string>) => postForm(agent, `/admin/locations/${srv3.id}`, fields, `/admin/locations/${srv3.id}/edit`);

    const refused = await edit({ code: 'SRV3', name: 'Server three', online_url: 'http://127.0.0.1:8101' });
    expect(refused.status).toBe(422);
    expect(fieldError(refused.text)).toMatch(/^SRV1, SRV2 already uses this URL: /);
    expect(box(refused.text)?.slice(1)).toEqual(['SRV1,SRV2', 'I know SRV1, SRV2 already use this URL']);
    expect(await database.db('locations').where({ id: srv3.id }).first()).toMatchObject({ online_url: 'http://127.0.0.1:8103' });

    expect((await edit({ code: 'SRV3', name: 'Server three', online_url: 'http://127.0.0.1:8101', same_url_ok: 'SRV1' })).status).toBe(422);
    const accepted = await edit({ code: 'SRV3', name: 'Server three', online_url: 'http://127.0.0.1:8101', same_url_ok: 'SRV1,SRV2' });
    expect(accepted.status).toBe(303);
    expect(await database.db('locations').where({ id: srv3.id }).first()).toMatchObject({ online_url: 'http://127.0.0.1:8101' });

    // Renaming it leaves the URL as it was: nothing to confirm again.
    expect((await edit({ code: 'SRV3', name: 'Server three, renamed', online_url: 'http://127.0.0.1:8101' })).status).toBe(303);
  });
});
