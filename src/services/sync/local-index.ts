import type { Knex } from 'knex';
import { StringDecoder } from 'node:string_decoder';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { RemoteUser } from '../remote-users';
import { copyField, fromCopyText, needsCopyEscape } from './copy-text';
import { Int32HashSet } from './hash-set';

/** A remote user the plan statement must see: new, changed, a copy of a duplicate email, or a local user missing remotely. */
export interface StagedRow {
  /** Null for a local user the remote list does not name. */
  user: RemoteUser | null;
  /** The matching local user, or null for an email the location does not have. */
  userId: number | null;
  page: number | null;
  position: number | null;
}

const UNSEEN = 0;
const UNCHANGED = 1;
const STAGED = 2;

/** FNV-1a over the UTF-16 code units. */
function emailHash(email: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < email.length; i++) hash = Math.imul(hash ^ email.charCodeAt(i), 0x01000193);
  return hash;
}

/**
 * True when the remote user's synced fields (name, remote id, role) are exactly the local ones, which
 * COPY wrote as one text `name\tremote_id\trole`. Compares in place, without building a string a row.
 */
function syncedFieldsMatch(local: string, u: RemoteUser): boolean {
  if (needsCopyEscape(u.name) || needsCopyEscape(u.remoteId) || needsCopyEscape(u.role)) {
    return local === `${copyField(u.name)}\t${copyField(u.remoteId)}\t${copyField(u.role)}`;
  }
  const remoteId = u.remoteId ?? '\\N';
  const role = u.role ?? '\\N';
  const idAt = u.name.length + 1;
  const roleAt = idAt + remoteId.length + 1;
  return (
    local.length === roleAt + role.length &&
    local.charCodeAt(idAt - 1) === TAB &&
    local.charCodeAt(roleAt - 1) === TAB &&
    local.startsWith(u.name) &&
    local.startsWith(remoteId, idAt) &&
    local.startsWith(role, roleAt)
  );
}

const TAB = 9;

const copyEmail = (email: string) => (needsCopyEscape(email) ? copyField(email) : email);

/**
 * The location's users as the preview's snapshot sees them, held compactly (a map from the lower-cased
 * email to a slot; per slot the id, the active flag and the synced fields as one COPY text), so each
 * remote row is sorted while the pages arrive: an unchanged user, by far the most common row, is only
 * counted and never reaches the database. The plan statement then works on the few rows that matter.
 *
 * Read on the preview's REPEATABLE READ transaction, so the index and the plan statement see the same
 * users; the execute step's stale check covers what changes after the preview.
 */
export class LocalUserIndex {
  private readonly emailToSlot = new Map<string, number>();
  private readonly status: Uint8Array;
  /** Where the remote list named an unchanged user, in case a later copy of its email turns it into a duplicate. */
  private readonly seenPage: Int32Array;
  private readonly seenPosition: Int32Array;
  /** Hashes of the remote emails the location does not have; a repeat among them may be a duplicate. */
  private readonly newEmailHashes = new Int32HashSet();
  /** Emails that may appear twice in the remote list (exactly the duplicates, plus rare hash collisions). */
  readonly possibleDuplicates: string[] = [];
  /** Usable remote users seen so far. */
  remoteUserCount = 0;

  private constructor(
    private readonly ids: Int32Array,
    private readonly active: Uint8Array,
    private readonly syncedFields: string[],
    emails: string[],
    readonly activeCount: number,
  ) {
    emails.forEach((email, slot) => this.emailToSlot.set(email, slot));
    this.status = new Uint8Array(ids.length);
    this.seenPage = new Int32Array(ids.length);
    this.seenPosition = new Int32Array(ids.length);
  }

  /** Streams the location's users out of the database (one COPY) on the transaction's connection. */
  static async load(trx: Knex.Transaction, locationId: number): Promise<LocalUserIndex> {
    if (!Number.isSafeInteger(locationId)) throw new Error(`invalid location id ${locationId}`);
    const connection: pg.Client = await trx.client.acquireConnection();
    // COPY takes no parameters; the id is a checked integer.
    const stream = connection.query(
      copyTo(
        `COPY (SELECT id, lower(email), is_active, name, remote_id, role FROM users WHERE location_id = ${locationId}) TO STDOUT`,
      ),
    );
    const ids: number[] = [];
    const active: number[] = [];
    const emails: string[] = [];
    const syncedFields: string[] = [];
    let activeCount = 0;
    const decoder = new StringDecoder('utf8');
    let rest = '';
    const readLines = (text: string) => {
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        // id \t email \t t|f \t name \t remote_id \t role
        const idEnd = text.indexOf('\t', start);
        const emailEnd = text.indexOf('\t', idEnd + 1);
        ids.push(Number(text.slice(start, idEnd)));
        emails.push(text.slice(idEnd + 1, emailEnd));
        const isActive = text.charCodeAt(emailEnd + 1) === 116; // 't'
        active.push(isActive ? 1 : 0);
        if (isActive) activeCount++;
        syncedFields.push(text.slice(emailEnd + 3, end));
        start = end + 1;
      }
      return text.slice(start);
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) rest = readLines(rest + decoder.write(chunk));
    readLines(rest + decoder.end());
    return new LocalUserIndex(Int32Array.from(ids), Uint8Array.from(active), syncedFields, emails, activeCount);
  }

  /**
   * Sorts one page's users: returns the rows to stage (new or changed users, every copy of an email seen
   * twice) and keeps only a mark for the unchanged ones.
   */
  triage(users: RemoteUser[], page: number, firstPosition: number): StagedRow[] {
    const staged: StagedRow[] = [];
    users.forEach((user, i) => {
      const position = firstPosition + i;
      const slot = this.emailToSlot.get(copyEmail(user.email));
      if (slot === undefined) {
        if (!this.newEmailHashes.add(emailHash(user.email))) this.possibleDuplicates.push(user.email);
        staged.push({ user, userId: null, page, position });
        return;
      }
      const userId = this.ids[slot]!;
      if (this.status[slot] !== UNSEEN) {
        // A second copy of the email: every copy goes to the plan statement, which rejects them all.
        this.possibleDuplicates.push(user.email);
        if (this.status[slot] === UNCHANGED) {
          staged.push({ user: this.unchangedUserAt(slot, user.email), userId, page: this.seenPage[slot]!, position: this.seenPosition[slot]! });
        }
        this.status[slot] = STAGED;
        staged.push({ user, userId, page, position });
        return;
      }
      if (user.isActive === (this.active[slot] === 1) && syncedFieldsMatch(this.syncedFields[slot]!, user)) {
        this.status[slot] = UNCHANGED;
        this.seenPage[slot] = page;
        this.seenPosition[slot] = position;
      } else {
        this.status[slot] = STAGED;
        staged.push({ user, userId, page, position });
      }
    });
    this.remoteUserCount += users.length;
    return staged;
  }

  /** The active local users no remote row named: the plan statement decides whether each is deactivated. */
  missingActiveUsers(): StagedRow[] {
    const missing: StagedRow[] = [];
    this.status.forEach((status, slot) => {
      if (status === UNSEEN && this.active[slot] === 1) missing.push({ user: null, userId: this.ids[slot]!, page: null, position: null });
    });
    return missing;
  }

  /** The ids of the users the remote list names once and unchanged, ascending. */
  unchangedUserIds(): Int32Array {
    const ids: number[] = [];
    this.status.forEach((status, slot) => {
      if (status === UNCHANGED) ids.push(this.ids[slot]!);
    });
    return Int32Array.from(ids).sort();
  }

  /** The remote row of an unchanged user, rebuilt from the local fields it matched. */
  private unchangedUserAt(slot: number, email: string): RemoteUser {
    const [name = '', remoteId = '\\N', role = '\\N'] = this.syncedFields[slot]!.split('\t');
    return { email, name: fromCopyText(name) ?? '', remoteId: fromCopyText(remoteId), role: fromCopyText(role), isActive: this.active[slot] === 1 };
  }
}
