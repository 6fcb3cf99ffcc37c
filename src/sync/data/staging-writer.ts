import type { Knex } from 'knex';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';
import type { RejectedRemoteRow, RemoteUser } from '../../remote/remote-users';
import { copyField } from './copy-text';
import type { StagedRow } from '../preview/local-index';

/** Rejected rows held before they are written; bounds memory when a broken remote rejects every row. */
const REJECTED_BATCH = 5000;

/**
 * COPY text held before it goes to the connection. Each write is two socket writes (a message header and
 * the data), system calls that cost more than building the text of a page's rows: so a page's rows wait
 * for the next pages' until this much is held (a few pages), and a flush sends the rest.
 */
const COPY_BATCH_CHARS = 256 * 1024;

const COPY_STAGING = 'COPY sync_staging (email, name, remote_id, role, is_active, page, position, user_id) FROM STDIN';

// knex types array bindings without nulls; node-pg sends null elements as SQL NULL, which we want.
const nullableText = (values: Array<string | null>) => values as string[];

const NO_USER = '\\N\t\\N\t\\N\t\\N\t\\N';

/** The remote user's columns of a staged row. */
function copyUserColumns(u: RemoteUser | null): string {
  if (u === null) return NO_USER;
  return `${copyField(u.email)}\t${copyField(u.name)}\t${copyField(u.remoteId)}\t${copyField(u.role)}\t${u.isActive ? 't' : 'f'}`;
}

const copyNumber = (value: number | null) => (value === null ? '\\N' : String(value));

/**
 * Writes the rows the local index passes on into the staging table (see createStaging) as the pages
 * arrive: through one COPY left open across pages until the next stretch is planned (flush), since a
 * COPY per page would cost a round trip a page; the rejected rows as plan items whenever the COPY is closed. The COPY runs on the
 * transaction's own connection (a transaction's knex client hands out exactly that one), so the rows
 * land in its temporary table; while it is open no other statement can use the connection.
 */
export class StagingWriter {
  private copy: { stream: CopyStreamQuery; done: Promise<void> } | undefined;
  /** Rows of COPY text not yet handed to the COPY. */
  private pending = '';
  private rejected: RejectedRemoteRow[] = [];

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly runId: number,
  ) {}

  /** Stages the rows the local index passed on, and holds the page's rejected rows. */
  async write(rows: StagedRow[], rejected: RejectedRemoteRow[] = []): Promise<void> {
    for (const row of rows) {
      this.pending += `${copyUserColumns(row.user)}\t${copyNumber(row.page)}\t${copyNumber(row.position)}\t${copyNumber(row.userId)}\n`;
    }
    if (this.pending.length >= COPY_BATCH_CHARS) await this.sendPending();
    this.rejected.push(...rejected);
    if (this.rejected.length >= REJECTED_BATCH) await this.flush();
  }

  /** Hands the held COPY text to the COPY, opening it first when none is open. */
  private async sendPending(): Promise<void> {
    if (this.pending === '') return;
    const copy = this.copy ?? (this.copy = await this.openCopy());
    if (copy.stream.destroyed) {
      await copy.done;
      throw new Error('the COPY into the staging table ended early');
    }
    const text = this.pending;
    this.pending = '';
    if (!copy.stream.write(text)) await Promise.race([once(copy.stream, 'drain'), copy.done]);
  }

  /** Sends the rows held, ends the COPY and writes the rejected rows still held. */
  async flush(): Promise<void> {
    await this.sendPending();
    const copy = this.copy;
    this.copy = undefined;
    if (copy) {
      copy.stream.end();
      await copy.done;
    }
    const rejected = this.rejected;
    this.rejected = [];
    if (rejected.length > 0) {
      await this.trx.raw(
        `INSERT INTO sync_run_items (sync_run_id, kind, email, reason, excerpt, remote_page)
         SELECT ?::int, 'rejected', email, reason, excerpt, page
         FROM unnest(?::text[], ?::text[], ?::text[], ?::int[]) AS r(email, reason, excerpt, page)`,
        [
          this.runId,
          nullableText(rejected.map((r) => r.email)),
          rejected.map((r) => r.reason),
          rejected.map((r) => r.excerpt),
          rejected.map((r) => r.page),
        ],
      );
    }
  }

  /** Cancels an open COPY (CopyFail), so the connection can roll the transaction back. */
  async abort(): Promise<void> {
    this.pending = '';
    const copy = this.copy;
    this.copy = undefined;
    if (!copy) return;
    copy.stream.destroy();
    await copy.done.catch(() => undefined);
  }

  private async openCopy() {
    const connection: pg.Client = await this.trx.client.acquireConnection();
    const stream = connection.query(copyFrom(COPY_STAGING));
    const done = finished(stream);
    // Marked handled here; the error still reaches whoever awaits `done`.
    done.catch(() => undefined);
    return { stream, done };
  }
}
