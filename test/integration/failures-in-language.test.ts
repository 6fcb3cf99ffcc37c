import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { postForm, signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { REMOTE_ENV, addLocation, previewSync, runRow } from '../support/sync-fixtures';

/** A remote's failure is stored as a code and said in the reader's language (issues 23 and 28). */

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let site: http.Server;
let siteUrl: string;

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ ...REMOTE_ENV, DEFAULT_LANGUAGE: 'id', REMOTE_RETRIES: '0' }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  // A web site, not the users API: its login answers an HTML page.
  site = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<html><body>Welcome</body></html>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => site.close(resolve));
});

describe('a remote failure in the admin language', () => {
  it('when a preview fails on its remote, then the run keeps the code, and the Indonesian page and history say it in Indonesian', async () => {
    const locationId = await addLocation(database.db, 'WEB', siteUrl);
    const runId = await previewSync(agent, locationId);
    const run = await runRow(database.db, runId);
    expect(run).toMatchObject({ status: 'failed', error_code: 'not_the_api', error_params: { location: 'WEB', statusClass: 'HTTP 2xx' } });
    // The English stays beside the code, for the log, the CLI and the API.
    expect(run.error).toBe('WEB answered with something that is not the users API (HTTP 2xx) on the login');

    const indonesian = 'WEB menjawab dengan sesuatu yang bukan API pengguna (HTTP 2xx) saat login';
    const page = (await agent.get(`/admin/users/sync/${runId}`)).text;
    expect(page).toContain(indonesian);
    expect(page).not.toContain('is not the users API');
    expect((await agent.get('/admin/sync-runs')).text).toContain(indonesian);
  });

  it('when Test connection fails, then the flash says why in Indonesian', async () => {
    const locationId = await addLocation(database.db, 'WEB2', siteUrl);
    const tested = await postForm(agent, `/admin/locations/${locationId}/test`, {}, '/admin/locations');
    expect(tested.status).toBe(303);
    const page = (await agent.get('/admin/locations')).text;
    expect(page).toContain('WEB2 menjawab dengan sesuatu yang bukan API pengguna (HTTP 2xx) saat login');
    expect(page).not.toContain('is not the users API');
  });
});
