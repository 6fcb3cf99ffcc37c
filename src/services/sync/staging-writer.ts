import type { Knex } from 'knex';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';
import type { RejectedRemoteRow, RemoteUser, RemoteUserPage } from '../remote-users';
import { copyField, needsCopyEscape } from './copy-text';
import { Int32HashSet } from './hash-set';

/** Rejected rows held before they are written; bounds memory when a broken remote rejects every row. */
const REJECTED_BATCH = 5000;

const COPY_STAGING = 'COPY sync_staging (email, name, remote_id, role, is_active, page, position) FROM STDIN';

// knex types array bindings without nulls; node-pg sends null elements as SQL NULL, which we want.
const nullableText = (values: Array<string | null>) => values as string[];

/** FNV-1a over the UTF-16 code units. */
function emailHash(email: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < email.length; i++) hash = Math.imul(hash ^ email.charCodeAt(i), 0x01000193);
  return hash;
}

/** The text columns of a staged row; one test of each value lets the common row skip the escaping. */
function copyRowStart(u: RemoteUser): string {
  if (needsCopyEscape(u.email) || needsCopyEscape(u.name) || needsCopyEscape(u.remoteId) || needsCopyEscape(u.role)) {
    return `${copyField(u.email)}\t${copyField(u.name)}\t${copyField(u.remoteId)}\t${copyField(u.role)}`;
  }
  return `${u.email}\t${u.name}\t${u.remoteId ?? '\\N'}\t${u.role ?? '\\N'}`;
}

/**
 * Writes the remote list into the staging table (see createStaging) as its pages arrive: the users
 * through one COPY left open across pages, since a COPY per page costs a hundred round trips at
 * 100,000 users; the rejected rows as plan items whenever the COPY is closed. The COPY runs on the
 * transaction's own connection (a transaction's knex client hands out exactly that one), so the rows
 * land in its temporary table; while it is open no other statement can use the connection.
 */
export class StagingWriter {
  private copy: { stream: CopyStreamQuery; done: Promise<void> } | undefined;
  private rejected: RejectedRemoteRow[] = [];
  /** Hashes of the staged emails, 4 to 16 bytes each, where the emails themselves would take far more. */
  private readonly emailHashes = new Int32HashSet();
  /** Emails whose hash was seen before: every duplicate is among them, with a few hash collisions. */
  readonly possibleDuplicates: string[] = [];
  stagedCount = 0;

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly runId: number,
  ) {}

  /** Stages one page; its users get the positions firstPosition, firstPosition + 1, … */
  async write(page: RemoteUserPage, firstPosition: number): Promise<void> {
    if (page.users.length > 0) {
      const copy = this.copy ?? (this.copy = await this.openCopy());
      if (copy.stream.destroyed) {
        await copy.done;
        throw new Error('the COPY into the staging table ended early');
      }
      let text = '';
      page.users.forEach((u, i) => {
        if (!this.emailHashes.add(emailHash(u.email))) this.possibleDuplicates.push(u.email);
        text += `${copyRowStart(u)}\t${u.isActive ? 't' : 'f'}\t${page.page}\t${firstPosition + i}\n`;
      });
      this.stagedCount += page.users.length;
      if (!copy.stream.write(text)) await Promise.race([once(copy.stream, 'drain'), copy.done]);
    }
    this.rejected.push(...page.rejected);
    if (this.rejected.length >= REJECTED_BATCH) await this.flush();
  }

  /** Ends the COPY and writes the rejected rows still held. */
  async flush(): Promise<void> {
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
