/**
 * The physical limit of this machine for N users: the pages fetched over loopback HTTP with nothing done
 * to them, plus a raw COPY of N rows into a temporary table.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { remoteUser } from './data';
import { fetchPagesRaw, loginToRemote } from './remote-fetch';

export interface FloorResult {
  fetchMs: number;
  copyMs: number;
  bytes: number;
}

function* copyChunks(n: number): Generator<string> {
  const batch: string[] = [];
  for (let i = 1; i <= n; i++) {
    const u = remoteUser(i);
    batch.push(`${u.email}\t${u.name}\t${u.id}\t${u.role}\tt\n`);
    if (batch.length === 5000) yield batch.splice(0).join('');
  }
  if (batch.length > 0) yield batch.join('');
}

export async function runFloor(options: {
  databaseUrl: string;
  remoteUrl: string;
  credentials: { email: string; password: string };
  n: number;
  /** Pages the remote lists (a Sinkron remote lists its API account too). */
  pages: number;
  perPage: number;
  concurrency: number;
}): Promise<FloorResult> {
  const fetchStarted = performance.now();
  const token = await loginToRemote(options.remoteUrl, options.credentials);
  const bytes = await fetchPagesRaw(options.remoteUrl, token, {
    pages: Math.max(1, options.pages),
    perPage: options.perPage,
    concurrency: options.concurrency,
  });
  const fetchMs = performance.now() - fetchStarted;

  const chunks = [...copyChunks(options.n)];
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const copyStarted = performance.now();
    await client.query('CREATE TEMP TABLE floor_users (email text, name text, remote_id text, role text, is_active boolean)');
    await pipeline(Readable.from(chunks), client.query(copyFrom('COPY floor_users FROM STDIN')));
    const copyMs = performance.now() - copyStarted;
    return { fetchMs, copyMs, bytes };
  } finally {
    await client.end();
  }
}
