import type { Knex } from 'knex';
import { StringDecoder } from 'node:string_decoder';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * Streams the location's users out of the database (one COPY) on the transaction's connection, as
 * chunks of whole lines of COPY text: id, lower(email), is_active, name, remote_id, role.
 */
export async function copyLocalUsers(trx: Knex.Transaction, locationId: number): Promise<string[]> {
  if (!Number.isSafeInteger(locationId)) throw new Error(`invalid location id ${locationId}`);
  const connection: pg.Client = await trx.client.acquireConnection();
  // COPY takes no parameters; the id is a checked integer.
  const stream = connection.query(
    copyTo(`COPY (SELECT id, lower(email), is_active, name, remote_id, role FROM users WHERE location_id = ${locationId}) TO STDOUT`),
  );
  // Decoded as it arrives and cut after the last whole line, so the bytes go and no line is split.
  const decoder = new StringDecoder('utf8');
  const segments: string[] = [];
  const cutWholeLines = (text: string) => {
    const end = text.lastIndexOf('\n') + 1;
    if (end > 0) segments.push(text.slice(0, end));
    return text.slice(end);
  };
  let partialLine = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) partialLine = cutWholeLines(partialLine + decoder.write(chunk));
  // COPY ends every row with a newline: nothing is left over.
  cutWholeLines(partialLine + decoder.end());
  return segments;
}
