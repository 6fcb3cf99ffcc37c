import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_ADMIN, useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { addLocation, previewSync, runRow, withSupersededText } from '../support/sync-fixtures';

/** What the hub signs in with by default, and with for DEV only (EXTERNAL_API_DEV_*). */
const DEFAULT_CREDENTIAL = { email: 'api@default.test', password: 'default-remote-password' };
const DEV_CREDENTIAL = { email: 'api@dev.test', password: 'dev-only-remote-password' };

interface Received {
  method: string;
  path: string;
  body: string;
}

/** A remote that answers like a small Laravel server and records every request it receives, bodies included. */
async function startRecordingRemote(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://recorder').pathname;
      received.push({ method: req.method ?? '', path, body: Buffer.concat(chunks).toString('utf8') });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'POST' && path === '/api/auth/login')
        return send(200, { access_token: 'recorded.token', token_type: 'bearer', expires_in: 3600 });
      if (req.method === 'GET' && path === '/api/users') {
        return send(200, {
          data: [{ id: 1, email: 'victim@recorder.test', name: 'Victim' }],
          links: { first: null, last: null, prev: null, next: null },
          meta: { current_page: 1, from: 1, last_page: 1, per_page: 500, to: 1, total: 1 },
        });
      }
      send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const logins = (received: Received[]) =>
  received.filter((r) => r.path === '/api/auth/login').map((r) => (JSON.parse(r.body) as { email: string }).email);

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let recorder: Awaited<ReturnType<typeof startRecordingRemote>>;
let devRemote: LaravelServer;

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({
    EXTERNAL_API_EMAIL: DEFAULT_CREDENTIAL.email,
    EXTERNAL_API_PASSWORD: DEFAULT_CREDENTIAL.password,
    EXTERNAL_API_DEV_EMAIL: DEV_CREDENTIAL.email,
    EXTERNAL_API_DEV_PASSWORD: DEV_CREDENTIAL.password,
    REMOTE_RETRIES: '0',
  }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  recorder = await startRecordingRemote();
  devRemote = await startLaravelServer({ users: [{ id: 7, email: 'dev7@dev.test', name: 'Dev 7' }], credentials: DEV_CREDENTIAL });
});
afterAll(async () => {
  await recorder.close();
  await devRemote.close();
});
beforeEach(() => {
  recorder.received.length = 0;
});

const unescapeHtml = (text: string) =>
  text
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

const locationsPage = async () => (await agent.get('/admin/locations')).text;

/** The flash messages on a page, as text. */
const alerts = (html: string) => [...html.matchAll(/<div class="alert [^>]*>([^<]*)<\/div>/g)].map((m) => unescapeHtml(m[1]!));

function rowOf(html: string, code: string): string {
  const row = new RegExp(`<tr data-code="${code}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  if (row === undefined) throw new Error(`no row for ${code} on the Locations page`);
  return row;
}

/** The confirm form of the location's row as a browser would post it (its hidden fields), or undefined when none is shown. */
function confirmFormOf(html: string, code: string): { action: string; fields: Record<string, string>; text: string } | undefined {
  const form = /<form method="post" action="(\/admin\/locations\/\d+\/confirm-url)"[\s\S]*?<\/form>/.exec(rowOf(html, code));
  if (!form) return undefined;
  const fields: Record<string, string> = {};
  for (const input of form[0].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    if (input[1] !== '_csrf') fields[input[1]!] = unescapeHtml(input[2]!);
  }
  return { action: form[1]!, fields, text: unescapeHtml(form[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')) };
}

/** Confirms what the page shows for the location, with the given password, as the admin's browser would. */
async function confirmAsShown(code: string, password = TEST_ADMIN.password) {
  const form = confirmFormOf(await locationsPage(), code);
  if (!form) throw new Error(`${code} asks for no confirmation`);
  return postForm(agent, form.action, { ...form.fields, password }, '/admin/locations');
}

/**
 * The box an admin ticks to save a URL other locations use (the recorder serves several locations on
 * purpose): their codes, in code order.
 */
async function sameUrlOk(onlineUrl: string, exceptId = 0): Promise<string> {
  const codes: string[] = await database.db('locations').where({ online_url: onlineUrl }).whereNot({ id: exceptId }).orderBy('code').pluck('code');
  return codes.join(',');
}

const create = async (code: string, onlineUrl: string) =>
  postForm(
    agent,
    '/admin/locations',
    { code, name: `Location ${code}`, online_url: onlineUrl, same_url_ok: await sameUrlOk(onlineUrl) },
    '/admin/locations',
  );

const edit = async (id: number, code: string, onlineUrl: string) =>
  postForm(
    agent,
    `/admin/locations/${id}`,
    { code, name: `Location ${code}`, online_url: onlineUrl, same_url_ok: await sameUrlOk(onlineUrl, id) },
    `/admin/locations/${id}/edit`,
  );

const testConnection = (id: number) => postForm(agent, `/admin/locations/${id}/test`, {}, '/admin/locations');

const idOf = async (code: string): Promise<number> => (await database.db('locations').where({ code }).first('id')).id;

describe('a credential goes to a URL only once an admin confirmed that pairing (issue 26, finding 1)', () => {
  it('when a location is created with a URL, then Test connection sends nothing there until an admin confirms it with their password', async () => {
    expect((await create('NEWLOC', recorder.url)).status).toBe(303);
    const id = await idOf('NEWLOC');

    expect((await testConnection(id)).status).toBe(303);
    expect(recorder.received).toEqual([]);
    const refused = await locationsPage();
    expect(alerts(refused)).toContain(
      "NEWLOC: test connection failed (URL refused): NEWLOC's online URL is not confirmed: an admin must confirm on the Locations page that NEWLOC's credential may go there",
    );
    const form = confirmFormOf(refused, 'NEWLOC');
    expect(form?.fields).toEqual({ online_url: recorder.url, code: 'NEWLOC' });
    expect(form?.text).toContain(`Not confirmed yet: confirm that NEWLOC's credential may go to ${recorder.url}.`);

    expect((await confirmAsShown('NEWLOC')).status).toBe(303);
    const page = await locationsPage();
    expect(alerts(page)).toContain('NEWLOC: online URL confirmed.');
    expect(confirmFormOf(page, 'NEWLOC')).toBeUndefined();
    await testConnection(id);
    expect(alerts(await locationsPage())).toContain('NEWLOC: OK, 1 user');
    expect(logins(recorder.received)).toEqual([DEFAULT_CREDENTIAL.email]);
  });

  it('when codes are swapped (DEV renamed away, another location renamed to DEV), then DEV’s credential does not go to the other URL', async () => {
    expect((await create('DEV', devRemote.url)).status).toBe(303);
    expect((await confirmAsShown('DEV')).status).toBe(303);
    expect((await create('OTHER', recorder.url)).status).toBe(303);
    expect((await confirmAsShown('OTHER')).status).toBe(303);
    const devId = await idOf('DEV');
    const otherId = await idOf('OTHER');
    // Both pairings work as confirmed: DEV's credential to DEV's server, the default one to the recorder.
    await testConnection(devId);
    await testConnection(otherId);
    expect(devRemote.requests.filter((r) => r.path === '/api/auth/login')).toHaveLength(1);
    expect(logins(recorder.received)).toEqual([DEFAULT_CREDENTIAL.email]);
    recorder.received.length = 0;

    expect((await edit(devId, 'DEVOLD', devRemote.url)).status).toBe(303);
    expect((await edit(otherId, 'DEV', recorder.url)).status).toBe(303);
    await testConnection(otherId);

    expect(recorder.received).toEqual([]);
    const page = await locationsPage();
    expect(alerts(page).join('\n')).toContain("DEV's online URL is not confirmed");
    expect(confirmFormOf(page, 'DEV')?.fields).toEqual({ online_url: recorder.url, code: 'DEV' });
    expect(confirmFormOf(page, 'DEV')?.text).toContain(`The code changed: confirm that DEV's credential may go to ${recorder.url}.`);
    // The renamed DEV would now send the default credential to DEV's server: that pairing is new too.
    expect(confirmFormOf(page, 'DEVOLD')?.fields).toEqual({ online_url: devRemote.url, code: 'DEVOLD' });
  });

  it('when the code or the URL changed after the page was shown, then the confirmation is refused and nothing is confirmed', async () => {
    expect((await create('STALE', recorder.url)).status).toBe(303);
    const id = await idOf('STALE');
    const shown = confirmFormOf(await locationsPage(), 'STALE')!;

    expect((await edit(id, 'STALE2', recorder.url)).status).toBe(303);
    const staleCode = await postForm(agent, shown.action, { ...shown.fields, password: TEST_ADMIN.password }, '/admin/locations');
    expect(staleCode.status).toBe(409);
    expect(confirmFormOf(await locationsPage(), 'STALE2')).toBeDefined();

    const shownAgain = confirmFormOf(await locationsPage(), 'STALE2')!;
    expect((await edit(id, 'STALE2', `${recorder.url}/moved`)).status).toBe(303);
    const staleUrl = await postForm(agent, shownAgain.action, { ...shownAgain.fields, password: TEST_ADMIN.password }, '/admin/locations');
    expect(staleUrl.status).toBe(409);

    await testConnection(id);
    expect(recorder.received).toEqual([]);
    const row = await database.db('locations').where({ id }).first();
    expect(row).toMatchObject({ code: 'STALE2', online_url: `${recorder.url}/moved` });
    expect(confirmFormOf(await locationsPage(), 'STALE2')?.fields).toEqual({ online_url: `${recorder.url}/moved`, code: 'STALE2' });
  });

  it('when a previewed location’s code changes, then the preview is superseded, as for a changed URL', async () => {
    const id = await addLocation(database.db, 'PREV', recorder.url);
    const runId = await previewSync(agent, id);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'previewed', new_count: 1 });
    expect((await edit(id, 'PREV2', recorder.url)).status).toBe(303);
    expect(withSupersededText(await runRow(database.db, runId))).toMatchObject({
      status: 'superseded',
      superseded_reason: 'PREV2 was edited after the preview.',
    });
  });
});
