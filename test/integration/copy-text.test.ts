import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyField, fromCopyText } from '../../src/sync/data/copy-text';
import { createTestDatabase, type TestDatabase } from '../support/database';

// The preview writes remote values in COPY's text format and compares them with the local values as the
// server writes them: both directions must agree with PostgreSQL exactly, for every character it escapes.
const VALUES = [
  'plain',
  '',
  'tab\there',
  'line\nbreak',
  'carriage\rreturn',
  'back\\slash',
  'backspace\bform\ffeed\vvertical',
  '\\N',
  '\\.',
  'ends with a backslash\\',
  'other controls \u0001\u001f\u007f stay',
  'Ünïcødé 名前 🚀',
];

let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  client = await database.directClient();
  await client.query('CREATE TEMP TABLE copy_values (position int, value text)');
});
afterAll(async () => {
  await client.end();
  await database.drop();
});

async function copyOut(sql: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.query(copyTo(sql)) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

describe('COPY text values', () => {
  it('written by copyField are stored exactly, and equal what COPY TO writes for them', async () => {
    const text = VALUES.map((value, i) => `${i}\t${copyField(value)}\n`).join('') + `${VALUES.length}\t${copyField(null)}\n`;
    await pipeline(Readable.from([text]), client.query(copyFrom('COPY copy_values (position, value) FROM STDIN')));

    const stored = await client.query('SELECT value FROM copy_values ORDER BY position');
    expect(stored.rows.map((r) => r.value)).toEqual([...VALUES, null]);
    expect(await copyOut('COPY (SELECT position, value FROM copy_values ORDER BY position) TO STDOUT')).toBe(text);
  });

  it('read back by fromCopyText are the values themselves', async () => {
    const lines = (await copyOut('COPY (SELECT value FROM copy_values ORDER BY position) TO STDOUT')).split('\n').slice(0, -1);
    expect(lines.map(fromCopyText)).toEqual([...VALUES, null]);
  });
});
