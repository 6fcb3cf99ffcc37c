import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  LARAVEL_PEER_STYLES,
  laravelPeerUnavailable,
  startLaravelPeer,
  type LaravelPeer,
  type LaravelPeerStyle,
  type PeerUserInput,
} from '../support/laravel-peer';
import { REMOTE_ENV, addLocation, executeSync, insertUsers, itemsOf, previewSync, runRow } from '../support/sync-fixtures';

// Only a machine without PHP or Debian's Laravel skips these (CI installs both in .ci/run).
const unavailable = laravelPeerUnavailable();
if (unavailable) console.warn(`Skipping the real-Laravel peer tests: ${unavailable}`);

const HTML_NAME = '<b>x</b>';
const QUOTES_NAME = '"quotes" & ampersands';

const SEED: PeerUserInput[] = [
  { email: 'siti.nurhaliza@dev.test', name: 'Siti Nurhaliza', role: 'vendor' },
  { email: 'ni.made@dev.test', name: 'Ni Made Ayu Wulandari', role: 'manager' },
  { email: 'html@dev.test', name: HTML_NAME, role: 'vendor' },
  { email: 'quotes@dev.test', name: QUOTES_NAME, role: 'vendor' },
  { email: 'budi.santoso@dev.test', name: 'Budi Santoso', role: 'vendor', is_active: false },
  { email: 'Agus.Salim@Dev.Test', name: 'Agus Salim', role: null },
  { email: 'gusti@dev.test', name: 'I Gusti Ngurah Rai', role: 'vendor' },
  { email: 'nuraini@dev.test', name: "Nur'aini Rahmawati", role: 'vendor' },
];

interface Comparable {
  email: string;
  name: string;
  role: string | null;
  is_active: boolean;
  remote_id: string | null;
}

const byEmail = (a: Comparable, b: Comparable) => a.email.localeCompare(b.email);

describe.skipIf(unavailable !== undefined).each(LARAVEL_PEER_STYLES)('Sync from a real Laravel 8 app serving %s()', (style: LaravelPeerStyle) => {
  let database: TestDatabase;
  let t: TestApp;
  let agent: Agent;
  let peer: LaravelPeer;
  let locationId: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    peer = await startLaravelPeer({ users: SEED });
    // Three users a page: every style has to follow its own next links across several pages.
    t = await buildTestApp(database, { ...REMOTE_ENV, REMOTE_PER_PAGE: '3' });
    agent = await signedInAgent(t.app);
    locationId = await addLocation(database.db, 'DEV', peer.urlFor(style));
    // A local user Laravel does not have: the first sync deactivates it.
    await insertUsers(database.db, locationId, [{ email: 'left-before@dev.test', name: 'Left Before', role: 'vendor' }]);
  });
  afterAll(async () => {
    await t?.close();
    await peer?.close();
    await database?.drop();
  });

  /** Laravel's users as Sinkron should hold them: emails trimmed and lower-cased, the id as the remote id. */
  async function laravelRows(): Promise<Comparable[]> {
    return (await peer.users())
      .map((u) => ({ email: u.email.trim().toLowerCase(), name: u.name, role: u.role, is_active: u.is_active, remote_id: String(u.id) }))
      .sort(byEmail);
  }

  async function sinkronRows(): Promise<Comparable[]> {
    const rows = await database.db('users').where({ location_id: locationId }).select('email', 'name', 'role', 'is_active', 'remote_id');
    return (rows as Comparable[]).sort(byEmail);
  }

  /** Every Laravel user is in Sinkron with the same fields; every other user of the location is inactive. */
  async function expectMirror(gone: string[]): Promise<void> {
    const laravel = await laravelRows();
    const sinkron = await sinkronRows();
    const laravelEmails = new Set(laravel.map((u) => u.email));
    expect(sinkron.filter((u) => laravelEmails.has(u.email))).toEqual(laravel);
    const others = sinkron.filter((u) => !laravelEmails.has(u.email));
    expect(others.map((u) => u.email).sort()).toEqual([...gone].sort());
    for (const user of others) expect(user.is_active, user.email).toBe(false);
  }

  /** Preview, then Confirm & Execute; `checkPreview` looks at the preview page in between. */
  async function sync(checkPreview?: (page: string) => void): Promise<number> {
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run.status, `${String(run.error ?? '')}\n${peer.serverLog()}`).toBe('previewed');
    checkPreview?.((await agent.get(`/admin/users/sync/${runId}`)).text);
    const response = await executeSync(agent, runId);
    expect(response.status).toBe(303);
    expect(await runRow(database.db, runId)).toMatchObject({ status: 'completed' });
    return runId;
  }

  const emailsOf = async (runId: number, kinds: string[]) =>
    (await itemsOf(database.db, runId))
      .filter((i) => kinds.includes(i.kind as string))
      .map((i) => i.email as string)
      .sort();

  it('copies every Laravel user, inactive ones, HTML and Indonesian names included, row by row', async () => {
    const runId = await sync((page) => {
      // Laravel's JSON carries the names as they are; the preview shows them as text.
      expect(page).toContain('&lt;b&gt;x&lt;/b&gt;');
      expect(page).toContain('&#34;quotes&#34; &amp; ampersands');
      expect(page).not.toContain(HTML_NAME);
      expect(page).toContain('Ni Made Ayu Wulandari');
    });
    const run = await runRow(database.db, runId);
    // The API account is a user of the Laravel app too, so it is listed like any other.
    expect(run).toMatchObject({ remote_count: SEED.length + 1, new_count: SEED.length + 1, rejected_count: 0 });
    expect(await emailsOf(runId, ['deactivate'])).toEqual(['left-before@dev.test']);
    await expectMirror(['left-before@dev.test']);

    // One login, then three pages of three, each found the way this style allows.
    const requests = await peer.requests();
    expect(requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', `/${style}/api/auth/login`, 200],
      ...[1, 2, 3].map(() => ['GET', `/${style}/api/users`, 200]),
    ]);
    const pages = requests.slice(1);
    for (const r of pages) expect(r).toMatchObject({ bearer: true, query: { per_page: '3' } });
    if (style.startsWith('cursor')) {
      // A cursor server ignores ?page=: only its next links lead on.
      expect(pages.map((r) => typeof r.query.cursor)).toEqual(['undefined', 'string', 'string']);
    } else {
      expect(pages.map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);
    }

    const rows = await sinkronRows();
    expect(rows.find((u) => u.email === 'html@dev.test')?.name).toBe(HTML_NAME);
    expect(rows.find((u) => u.email === 'quotes@dev.test')?.name).toBe(QUOTES_NAME);
    expect(rows.find((u) => u.email === 'budi.santoso@dev.test')?.is_active).toBe(false);
    expect(rows.find((u) => u.email === 'agus.salim@dev.test')?.name).toBe('Agus Salim');
    expect(t.logs.text()).not.toContain(peer.apiAccount.password);
  });

  it('follows the changes made in Laravel on the next sync: added, renamed, re-roled, inactive, reactivated, removed', async () => {
    await peer.putUsers([
      { email: 'putu.eka@dev.test', name: 'Putu Eka Pratama', role: 'vendor' },
      { email: 'siti.nurhaliza@dev.test', name: 'Siti Nurhaliza binti Tarudin' },
      { email: 'gusti@dev.test', role: 'manager' },
      { email: 'ni.made@dev.test', is_active: false },
      { email: 'budi.santoso@dev.test', is_active: true },
    ]);
    expect(await peer.removeUsers(['quotes@dev.test'])).toBe(1);

    const runId = await sync();
    expect(await emailsOf(runId, ['new'])).toEqual(['putu.eka@dev.test']);
    // Whether a remote "inactive" is listed as an update or a deactivation, these and only these change.
    expect(await emailsOf(runId, ['update', 'deactivate'])).toEqual(
      ['budi.santoso@dev.test', 'gusti@dev.test', 'ni.made@dev.test', 'quotes@dev.test', 'siti.nurhaliza@dev.test'].sort(),
    );
    await expectMirror(['left-before@dev.test', 'quotes@dev.test']);
    const rows = await sinkronRows();
    expect(rows.find((u) => u.email === 'ni.made@dev.test')).toMatchObject({ name: 'Ni Made Ayu Wulandari', is_active: false });
    expect(rows.find((u) => u.email === 'budi.santoso@dev.test')?.is_active).toBe(true);
  });

  it('has nothing to change when Laravel did not change', async () => {
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ new_count: 0, update_count: 0, deactivate_count: 0, rejected_count: 0 });
    expect(run.remote_count).toBe((await peer.users()).length);
  });
});

describe.skipIf(unavailable !== undefined)('The Laravel peer refusing Sinkron, and what Sinkron makes of it', () => {
  let database: TestDatabase;
  let t: TestApp;
  let agent: Agent;
  let peer: LaravelPeer;

  beforeAll(async () => {
    database = await createTestDatabase();
    peer = await startLaravelPeer({ users: [{ email: 'siti.nurhaliza@dev.test', name: 'Siti Nurhaliza' }] });
    t = await buildTestApp(database, {
      ...REMOTE_ENV,
      EXTERNAL_API_BADPW_EMAIL: REMOTE_ENV.EXTERNAL_API_EMAIL,
      EXTERNAL_API_BADPW_PASSWORD: 'not the password',
    });
    agent = await signedInAgent(t.app);
  });
  afterAll(async () => {
    await t?.close();
    await peer?.close();
    await database?.drop();
  });

  async function failedPreview(code: string, onlineUrl: string): Promise<string> {
    const locationId = await addLocation(database.db, code, onlineUrl);
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run.status).toBe('failed');
    expect(await database.db('users').where({ location_id: locationId })).toEqual([]);
    return run.error as string;
  }

  it('when Laravel refuses the password, then the preview fails naming the variables to check', async () => {
    expect(await failedPreview('BADPW', peer.urlFor('paginate'))).toBe(
      'login to BADPW failed: check EXTERNAL_API_BADPW_EMAIL / EXTERNAL_API_BADPW_PASSWORD',
    );
    expect(t.logs.text()).not.toContain('not the password');
  });

  it("when the online URL misses the API (a wrong base path), then the preview fails with Laravel's 404, shown as its class", async () => {
    expect(await failedPreview('WRONGPATH', `${peer.origin}/no-such-app`)).toBe('WRONGPATH answered HTTP 4xx on the login');
  });

  const login = (password: string) =>
    fetch(`${peer.urlFor('resource')}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email: peer.apiAccount.email, password }),
    });
  const users = (authorization?: string) =>
    fetch(`${peer.urlFor('resource')}/api/users`, {
      headers: { Accept: 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
    });

  it('answers a login like tymon/jwt-auth: a signed HS256 token, bearer, expiry in seconds', async () => {
    const response = await login(peer.apiAccount.password);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    const [header, claims] = body.access_token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
    expect(header).toEqual({ typ: 'JWT', alg: 'HS256' });
    expect(claims).toMatchObject({ sub: expect.any(String), exp: expect.any(Number) });
    expect((await users(`Bearer ${body.access_token}`)).status).toBe(200);
  });

  it('refuses a wrong password, a missing token, a tampered token and an unsigned one', async () => {
    const refused = await login('not the password');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'Unauthorized' });

    const { access_token: token } = (await (await login(peer.apiAccount.password)).json()) as { access_token: string };
    const [header, claims] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(claims!, 'base64url').toString('utf8')), sub: '2' })).toString('base64url');
    const none = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'none' })).toString('base64url');
    for (const authorization of [undefined, `Bearer ${header}.${forged}.${token.split('.')[2]}`, `Bearer ${none}.${claims}.`]) {
      const response = await users(authorization);
      expect(response.status, authorization).toBe(401);
      expect(await response.json()).toEqual({ message: 'Unauthenticated.' });
    }
  });

  it('refuses the API account once it is inactive in Laravel', async () => {
    await peer.setActive([peer.apiAccount.email], false);
    expect((await login(peer.apiAccount.password)).status).toBe(401);
    await peer.setActive([peer.apiAccount.email], true);
    expect((await login(peer.apiAccount.password)).status).toBe(200);
  });
});
