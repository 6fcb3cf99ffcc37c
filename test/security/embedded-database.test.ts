import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedCluster } from '../../src/platform/db/embedded-postgres';
import { findFreePort } from '../../src/platform/free-port';
import { captureLogs } from '../support/logs';

/**
 * The embedded PostgreSQL's superuser password was in the source: any local user could sign in to it on
 * 127.0.0.1, read the sessions and password hashes, and run programs as its owner (COPY … TO PROGRAM).
 * Each cluster now has a password of its own, in a file beside its data that only its owner can read.
 * The two tests share one cluster (a start costs seconds): the second turns it into one of an older
 * version and starts it again.
 */
const PUBLIC_PASSWORD = 'sinkron-embedded';
const isRoot = process.getuid?.() === 0;

let runDir: string;
let dataDir: string;
let passwordFile: string;
let port: number;
let cluster: EmbeddedCluster | undefined;

beforeAll(async () => {
  runDir = await fs.mkdtemp(path.join(os.tmpdir(), 'sinkron-embedded-secret-'));
  // Open to every user, as a project folder usually is: only the password file's own mode may keep them out.
  await fs.chmod(runDir, 0o755);
  dataDir = path.join(runDir, 'pg');
  passwordFile = `${dataDir}.password`;
  port = await findFreePort();
});
afterAll(async () => {
  await cluster?.stop();
  await fs.rm(runDir, { recursive: true, force: true });
});

/** true when the cluster takes that password, else the SQLSTATE it refused it with. */
async function signIn(password: string): Promise<true | string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    return true;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `cat` of the file as the `nobody` user: its exit code and what it printed on stderr. */
function catAsNobody(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
  return new Promise((resolve) => {
    const child = spawn('cat', [file], { uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function passwordFileState() {
  const stat = await fs.stat(passwordFile);
  return { mode: stat.mode & 0o777, owner: stat.uid, password: (await fs.readFile(passwordFile, 'utf8')).trim() };
}

describe('the embedded PostgreSQL', () => {
  it('gets a random password of its own when made, kept beside its data where only its owner can read it, and refuses the public one', async () => {
    cluster = await startEmbeddedPostgres({ dir: dataDir, port, persistent: true });

    const file = await passwordFileState();
    expect(file.mode).toBe(0o600);
    expect(file.owner).toBe(process.getuid?.());
    // 32 random bytes in base64url.
    expect(file.password).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(await signIn(PUBLIC_PASSWORD)).toBe('28P01');
    expect(await signIn(file.password)).toBe(true);
    expect(new URL(cluster.urlFor('sinkron')).password).toBe(file.password);
    const admin = new pg.Client({ connectionString: cluster.urlFor('postgres') });
    await admin.connect();
    const { rows: rules } = await admin.query<{ auth_method: string }>('SELECT DISTINCT auth_method FROM pg_hba_file_rules');
    await admin.end();
    // The password never crosses the socket in clear.
    expect(rules).toEqual([{ auth_method: 'scram-sha-256' }]);

    if (isRoot) {
      // The kernel's own answer: another user cannot read it, though the folder is open and a file of the
      // same folder with an ordinary mode is readable to them.
      const refused = await catAsNobody(passwordFile);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('Permission denied');
      expect(refused.stdout).toBe('');
      const open = path.join(runDir, 'readable');
      await fs.writeFile(open, 'anyone\n', { mode: 0o644 });
      expect(await catAsNobody(open)).toMatchObject({ code: 0, stdout: 'anyone\n' });
      await fs.rm(open);
    }
  }, 60_000);

  it('gives a cluster made with the public password (an earlier version) a password of its own at its next start, its data kept', async () => {
    // What an earlier version left: the public password, and no password file.
    const admin = new pg.Client({ connectionString: cluster!.urlFor('postgres') });
    await admin.connect();
    await admin.query('CREATE TABLE kept (note text)');
    await admin.query("INSERT INTO kept VALUES ('made before the upgrade')");
    await admin.query(`ALTER ROLE postgres PASSWORD '${PUBLIC_PASSWORD}'`);
    await admin.end();
    await cluster!.stop();
    cluster = undefined;
    await fs.rm(passwordFile);

    const logs = captureLogs('info');
    cluster = await startEmbeddedPostgres({ dir: dataDir, port, persistent: true, logger: logs.logger });

    const file = await passwordFileState();
    expect(file.mode).toBe(0o600);
    expect(file.password).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(await signIn(PUBLIC_PASSWORD)).toBe('28P01');
    expect(await signIn(file.password)).toBe(true);
    const reader = new pg.Client({ connectionString: cluster.urlFor('postgres') });
    await reader.connect();
    const { rows } = await reader.query<{ note: string }>('SELECT note FROM kept');
    await reader.end();
    expect(rows).toEqual([{ note: 'made before the upgrade' }]);
    const replaced = logs.entries().filter((entry) => /password/.test(String(entry.msg)));
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).toMatchObject({ level: 30, file: passwordFile });
    expect(logs.text()).not.toContain(file.password);
    expect(await fs.readdir(runDir)).toEqual(['pg', 'pg.password']);

    // A start cut short after the change and before the file: the new password waits in pg.password.new.
    await cluster.stop();
    cluster = undefined;
    await fs.rename(passwordFile, `${passwordFile}.new`);
    cluster = await startEmbeddedPostgres({ dir: dataDir, port, persistent: true });
    expect((await passwordFileState()).password).toBe(file.password);
    expect(await fs.readdir(runDir)).toEqual(['pg', 'pg.password']);
    await cluster.stop();
    cluster = undefined;
  }, 60_000);

  it('does not start a cluster whose password file is missing and that refuses the public password, and names the file', async () => {
    const password = (await passwordFileState()).password;
    await fs.rm(passwordFile);
    await expect(startEmbeddedPostgres({ dir: dataDir, port, persistent: true })).rejects.toThrow(
      `its password file ${passwordFile} is missing and the cluster refuses the former built-in password`,
    );
    // The server it had started for the attempt is stopped again.
    expect(await signIn(password)).toBe('ECONNREFUSED');

    // With the file back it starts; a cluster thrown away on stop takes its password file with it.
    await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    cluster = await startEmbeddedPostgres({ dir: dataDir, port, persistent: false });
    expect(await signIn(password)).toBe(true);
    await cluster.stop();
    cluster = undefined;
    expect(await fs.readdir(runDir)).toEqual([]);
  }, 60_000);
});
