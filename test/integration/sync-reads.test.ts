import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp, type TestApp } from '../support/app';
import { signedInAgent, type Agent } from '../support/browser-session';
import type { TestDatabase } from '../support/database';
import { startLaravelServer, type LaravelServer } from '../support/laravel-server';
import { REMOTE_ENV, addLocation, insertUsers, previewSync, runRow } from '../support/sync-fixtures';
import { supersededBy } from '../../src/sync/reasons';

/** Viewing is reading (issue 23): the run page, the history and the metrics write nothing, and see an overdue preview as expired. */

let database: TestDatabase;
let t: TestApp;
let agent: Agent;
let remote: LaravelServer;

useTestApp(
  (ctx) => ({ database, t } = ctx),
  () => ({ ...REMOTE_ENV, METRICS_TOKEN: 'metrics-token-for-the-reads-test' }),
);
beforeAll(async () => {
  agent = await signedInAgent(t.app);
  remote = await startLaravelServer({ users: [{ id: 1, name: 'Added', email: 'added@dev.test', role: 'vendor', is_active: true }] });
});
afterAll(async () => {
  await remote.close();
});

/** The statements the app sends while `work` runs, as PostgreSQL gets them. */
async function statementsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (query: { sql: string }) => seen.push(query.sql);
  t.container.db.on('query', listener);
  try {
    await work();
  } finally {
    t.container.db.off('query', listener);
  }
  return seen;
}

const writes = (statements: string[]) => statements.filter((sql) => /^\s*(update|insert|delete)\b/i.test(sql) && /sync_runs/.test(sql));

describe('reading sync runs', () => {
  it('when a preview is past its time, then its page, the history and the metrics show it expired, and nothing is written', async () => {
    const locationId = await addLocation(database.db, 'DEV', remote.url);
    await insertUsers(database.db, locationId, [{ email: 'gone@dev.test', name: 'Gone' }]);
    const runId = await previewSync(agent, locationId);
    await database
      .db('sync_runs')
      .where({ id: runId })
      .update({ expires_at: database.db.raw("now() - interval '1 minute'") });
    const before = await runRow(database.db, runId);
    expect(before.status).toBe('previewed');

    let page = '';
    let history = '';
    let metrics = '';
    const statements = await statementsDuring(async () => {
      page = (await agent.get(`/admin/users/sync/${runId}`)).text;
      history = (await agent.get('/admin/sync-runs')).text;
      metrics = (await agent.get('/metrics').set('Authorization', 'Bearer metrics-token-for-the-reads-test')).text;
    });

    expect(page).toContain('This preview expired');
    expect(page).not.toContain(`action="/admin/users/sync/${runId}/execute"`);
    expect(history).toMatch(new RegExp(`href="/admin/users/sync/${runId}"[\\s\\S]*?Expired`));
    expect(metrics).toMatch(/sinkron_sync_runs\{[^}]*status="expired"[^}]*\} 1/);
    expect(writes(statements)).toEqual([]);
    expect(await runRow(database.db, runId)).toEqual(before);
  });

  it('when the run page is shown, then it reads the run once', async () => {
    const locationId = await addLocation(database.db, 'TEST', remote.url);
    const runId = await previewSync(agent, locationId);
    const statements = await statementsDuring(() => agent.get(`/admin/users/sync/${runId}`));
    const runReads = statements.filter((sql) => /from "sync_runs" as "r"/i.test(sql));
    expect(runReads).toHaveLength(1);
    expect(statements.some((sql) => /to_jsonb\(r\)/.test(sql))).toBe(false);
  });

  it('when an expired preview is discarded or its location edited, then it stays expired, not discarded or superseded', async () => {
    const locationId = await addLocation(database.db, 'EXP', remote.url);
    const runId = await previewSync(agent, locationId);
    await database
      .db('sync_runs')
      .where({ id: runId })
      .update({ expires_at: database.db.raw("now() - interval '1 minute'") });
    expect(await t.container.services.userSync.discard(runId, 1)).toEqual({ kind: 'not-open', status: 'expired' });
    expect(await t.container.services.userSync.supersedeOpenPreviews(locationId, supersededBy('edited', 'EXP'))).toBe(0);
    expect((await t.container.services.userSync.findRun(runId)).status).toBe('expired');
  });
});
