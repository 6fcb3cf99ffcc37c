import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, executeSync, insertUsers, previewSync } from '../support/sync-fixtures';

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;
let devId: number;

const remoteRows = [
  { id: 1, name: 'Keep One', email: 'keep1@dev.test', role: 'vendor', is_active: true },
  { id: 2, name: 'Renamed Remotely', email: 'rename@dev.test', role: 'vendor', is_active: true },
  { id: 3, name: '=HYPERLINK("http://evil.test","click")', email: 'formula@dev.test', role: '+cmd', is_active: true },
  { id: 4, name: 'Comma, "Quoted"; and a semicolon', email: 'quoted@dev.test', role: '@admin', is_active: true },
  { id: 5, name: 'Dup A', email: 'dup@dev.test', role: 'vendor', is_active: true },
  { id: 6, name: 'Dup B', email: 'dup@dev.test', role: 'vendor', is_active: true },
];

beforeAll(async () => {
  database = await createTestDatabase();
  remote = await startLaravelServer({ users: remoteRows });
  t = await buildTestApp(database, REMOTE_ENV);
  agent = await signedInAgent(t.app);
  devId = await addLocation(database.db, 'DEV', remote.url);
  await insertUsers(database.db, devId, [
    { email: 'keep1@dev.test', name: 'Keep One', role: 'vendor', remote_id: '1' },
    { email: 'rename@dev.test', name: '-Old Name', role: 'vendor', remote_id: '2' },
    { email: 'gone@dev.test', name: 'Gone Away', role: 'manager', remote_id: '99' },
  ]);
});
afterAll(async () => {
  await t.close();
  await remote.close();
  await database.drop();
});

const parseCsv = (text: string) => parse(text, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;

describe('Export CSV of a sync run', () => {
  let runId: number;

  it('when an admin exports a preview, then every planned user is one line, formula cells are defused and quotes survive', async () => {
    runId = await previewSync(agent, devId);
    const page = await agent.get(`/admin/users/sync/${runId}`);
    expect(page.text).toContain(`href="/admin/users/sync/${runId}/export.csv"`);

    const response = await agent.get(`/admin/users/sync/${runId}/export.csv`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    expect(response.headers['content-disposition']).toBe(`attachment; filename=sinkron-sync-DEV-run-${runId}.csv`);
    const text = response.text;
    expect(text.split('\n')[0]).toBe('category,reason,email,name,role,status,changes,reason_code');
    const rows = parseCsv(text);
    expect(rows.map((r) => [r.category, r.email])).toEqual([
      ['new', 'formula@dev.test'],
      ['new', 'quoted@dev.test'],
      ['update', 'rename@dev.test'],
      ['deactivate', 'gone@dev.test'],
      ['rejected', 'dup@dev.test'],
      ['rejected', 'dup@dev.test'],
    ]);
    const byEmail = (email: string) => rows.find((r) => r.email === email)!;
    // A spreadsheet would run these as formulas; the apostrophe makes them text.
    expect(byEmail('formula@dev.test')).toMatchObject({ name: `'=HYPERLINK("http://evil.test","click")`, role: "'+cmd", status: 'active' });
    expect(byEmail('quoted@dev.test')).toMatchObject({ name: 'Comma, "Quoted"; and a semicolon', role: "'@admin" });
    expect(byEmail('rename@dev.test')).toMatchObject({
      name: 'Renamed Remotely',
      role: 'vendor',
      status: 'active',
      changes: 'name: -Old Name → Renamed Remotely',
    });
    expect(byEmail('gone@dev.test')).toMatchObject({
      name: 'Gone Away',
      role: 'manager',
      status: 'inactive',
      changes: 'is_active: true → false',
      reason: 'missing from DEV',
      reason_code: 'remote_missing',
    });
    expect(rows.filter((r) => r.category === 'rejected').map((r) => [r.name, r.reason])).toEqual([
      ['Dup A', 'email appears 2 times in the remote list'],
      ['Dup B', 'email appears 2 times in the remote list'],
    ]);
    // The raw bytes: quoted where needed, the formula escaped inside the quotes.
    expect(text).toContain(`"'=HYPERLINK(""http://evil.test"",""click"")"`);
  });

  it('when the admin reads Indonesian, then the header row and the reasons are in Indonesian, the codes and the rest the same', async () => {
    const english = (await agent.get(`/admin/users/sync/${runId}/export.csv`)).text;
    const indonesianText = (await agent.get(`/admin/users/sync/${runId}/export.csv`).set('Accept-Language', 'id')).text;
    expect(indonesianText.split('\n')[0]).toBe('kategori,alasan,email,nama,peran,status,perubahan,kode_alasan');
    const indonesian = parseCsv(indonesianText.replace(/^[^\n]*/, english.split('\n')[0]!));
    const gone = indonesian.find((r) => r.email === 'gone@dev.test')!;
    expect(gone).toMatchObject({ reason: 'tidak ada lagi di DEV', reason_code: 'remote_missing' });
    expect(indonesianText).not.toContain('missing from');
    const withoutReasons = (rows: Array<Record<string, string>>) => rows.map((r) => ({ ...r, reason: r.category === 'rejected' ? r.reason : '' }));
    expect(withoutReasons(indonesian)).toEqual(withoutReasons(parseCsv(english)));
  });

  it('when the run is executed, then the export lists what it did', async () => {
    const executed = await executeSync(agent, runId);
    expect(executed.status).toBe(303);
    const rows = parseCsv((await agent.get(`/admin/users/sync/${runId}/export.csv`)).text);
    expect(rows).toHaveLength(6);
    expect(rows.find((r) => r.email === 'gone@dev.test')).toMatchObject({ category: 'deactivate', status: 'inactive' });
  });

  it('when nobody is signed in, then the export redirects to the sign-in page and sends no data', async () => {
    const response = await request(t.app).get(`/admin/users/sync/${runId}/export.csv`);
    expect(response.status).toBe(303);
    expect(response.headers.location).toMatch(/^\/login\?next=/);
    expect(response.text).not.toContain('dev.test');
  });

  it('when the run does not exist, then the answer is 404', async () => {
    const response = await agent.get('/admin/users/sync/999999/export.csv');
    expect(response.status).toBe(404);
  });
});
