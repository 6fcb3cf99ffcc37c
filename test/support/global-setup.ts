import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../src/platform/db/knex';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../../src/platform/db/embedded-postgres';
import { JobQueue } from '../../src/platform/db/job-queue';
import { migrateLatest } from '../../src/platform/db/migrate';
import { findFreePort } from '../../src/platform/free-port';

export const TEMPLATE_DATABASE = 'sinkron_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

/**
 * One Postgres for the whole run: embedded (thrown away afterwards) or DATABASE_URL when set.
 * The schema is migrated once into a template; each test file clones it into a database of its own.
 */
export default async function setup(project: TestProject) {
  let cluster: EmbeddedCluster | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-test-'));
    // Postgres runs as its own user when we are root; it must be able to reach its folder.
    await fs.chmod(runDir, 0o755);
    dataDir = path.join(runDir, 'pg');
    cluster = await startEmbeddedPostgres({ dir: dataDir, port: await findFreePort(), persistent: false });
    adminUrl = cluster.urlFor('postgres');
  }

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();

  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
  const db = createDb(templateUrl.toString());
  await migrateLatest(db);
  // Each test database starts with the job engine's schema, as a started instance leaves it.
  await JobQueue.install(db);
  await db.destroy();

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);

  return async () => {
    if (cluster) await cluster.stop();
    if (dataDir) await fs.rm(path.dirname(dataDir), { recursive: true, force: true });
  };
}
