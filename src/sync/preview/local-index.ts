import type { Knex } from '../../platform/db/knex';
import type { RemoteUser } from '../../remote/remote-users';
import { copyField, fromCopyText } from '../data/copy-text';
import { copyLocalUsers } from '../data/local-users.queries';
import { Int32HashSet } from './hash-set';

/** A row the plan statement must see: a new or changed user, a copy of a duplicate email, or a local user missing remotely. */
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

const TAB = 9;
const LETTER_T = 116;

/** FNV-1a over the UTF-16 code units of text[start, end). */
function hashOf(text: string, start = 0, end = text.length): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

/**
 * The location's users as the preview's snapshot sees them, so that each remote row is sorted while the
 * pages arrive: an unchanged user, by far the most common row, is only marked and never reaches the
 * database, and the plan statements work on the few rows that matter.
 *
 * Held compactly, as the COPY text the database sent (pieces of whole lines; per user a line `id,
 * lower(email), is_active, name, remote_id, role`) with offsets into it in typed arrays and an open-addressing table
 * from the email's hash to the user: about 100 bytes a user and no object per user for the collector to
 * trace. Remote values are compared with the local ones in their COPY form, in place.
 *
 * Read on the preview's REPEATABLE READ transaction, so the index and the plan statements see the same
 * users; the execute step's writes check what changed after the preview.
 */
export class LocalUserIndex {
  private readonly segmentOf: Int32Array;
  private readonly ids: Int32Array;
  private readonly emailStart: Int32Array;
  /** Where `is_active` starts; the email ends one character before. */
  private readonly activeAt: Int32Array;
  private readonly lineEnd: Int32Array;
  private readonly emailHash: Int32Array;
  /** Open addressing: slot + 1 of the user whose email hashes there, 0 for free. */
  private readonly table: Int32Array;
  private readonly status: Uint8Array;
  /** Where the remote list named an unchanged user, in case a later copy of its email makes it a duplicate. */
  private readonly seenPage: Int32Array;
  private readonly seenPosition: Int32Array;
  /** Hashes of the remote emails the location does not have; a repeat among them may be a duplicate. */
  private readonly newEmailHashes = new Int32HashSet();
  /** Emails that may appear twice in the remote list (exactly the duplicates, plus rare hash collisions). */
  readonly possibleDuplicates: string[] = [];
  /** Usable remote users seen so far. */
  remoteUserCount = 0;
  readonly activeCount: number;

  /** `segments`: the COPY text in pieces of whole lines, as it arrived (never joined: that would hold it twice). */
  private constructor(private readonly segments: string[]) {
    let count = 0;
    for (const text of segments) for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
    this.segmentOf = new Int32Array(count);
    this.ids = new Int32Array(count);
    this.emailStart = new Int32Array(count);
    this.activeAt = new Int32Array(count);
    this.lineEnd = new Int32Array(count);
    this.emailHash = new Int32Array(count);
    this.status = new Uint8Array(count);
    this.seenPage = new Int32Array(count);
    this.seenPosition = new Int32Array(count);
    this.table = new Int32Array(tableSizeFor(count));
    const mask = this.table.length - 1;
    let activeCount = 0;
    let slot = 0;
    segments.forEach((text, segment) => {
      for (let start = 0; start < text.length; slot++) {
        const idEnd = text.indexOf('\t', start);
        const emailEnd = text.indexOf('\t', idEnd + 1);
        const end = text.indexOf('\n', emailEnd);
        this.segmentOf[slot] = segment;
        this.ids[slot] = Number(text.slice(start, idEnd));
        this.emailStart[slot] = idEnd + 1;
        this.activeAt[slot] = emailEnd + 1;
        this.lineEnd[slot] = end;
        if (text.charCodeAt(emailEnd + 1) === LETTER_T) activeCount++;
        const hash = hashOf(text, idEnd + 1, emailEnd);
        this.emailHash[slot] = hash;
        // The unique index on (location_id, lower(email)) makes every email here distinct.
        let i = hash & mask;
        while (this.table[i] !== 0) i = (i + 1) & mask;
        this.table[i] = slot + 1;
        start = end + 1;
      }
    });
    this.activeCount = activeCount;
  }

  /** Reads the location's users (one COPY) on the transaction's connection. */
  static async load(trx: Knex.Transaction, locationId: number): Promise<LocalUserIndex> {
    return LocalUserIndex.fromCopyText(await copyLocalUsers(trx, locationId));
  }

  /** An index over COPY text already read: pieces of whole lines `id, lower(email), is_active, name, remote_id, role`. */
  static fromCopyText(segments: string[]): LocalUserIndex {
    return new LocalUserIndex(segments);
  }

  /**
   * Sorts one page's users: returns the rows to stage (new or changed users, every copy of an email seen
   * twice) and only marks the unchanged ones.
   */
  triage(users: RemoteUser[], page: number, firstPosition: number): StagedRow[] {
    const staged: StagedRow[] = [];
    users.forEach((user, i) => {
      const position = firstPosition + i;
      const email = copyField(user.email);
      const hash = hashOf(email);
      const slot = this.slotOf(email, hash);
      if (slot === -1) {
        if (!this.newEmailHashes.add(hash)) this.possibleDuplicates.push(user.email);
        staged.push({ user, userId: null, page, position });
        return;
      }
      const userId = this.ids[slot]!;
      if (this.status[slot] !== UNSEEN) {
        // A second copy of the email: every copy goes to the plan statement, which rejects them all.
        this.possibleDuplicates.push(user.email);
        if (this.status[slot] === UNCHANGED) {
          staged.push({ user: this.remoteUserAt(slot, user.email), userId, page: this.seenPage[slot]!, position: this.seenPosition[slot]! });
        }
        this.status[slot] = STAGED;
        staged.push({ user, userId, page, position });
        return;
      }
      if (this.isUnchanged(slot, user)) {
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
      if (status === UNSEEN && this.isActive(slot)) missing.push({ user: null, userId: this.ids[slot]!, page: null, position: null });
    });
    return missing;
  }

  /** The ids of the users the remote list names once and unchanged, ascending. */
  unchangedUserIds(): Int32Array {
    // Counted first, so that a million ids go straight into one typed array, not through a growing list.
    let count = 0;
    for (const status of this.status) if (status === UNCHANGED) count++;
    const ids = new Int32Array(count);
    let next = 0;
    this.status.forEach((status, slot) => {
      if (status === UNCHANGED) ids[next++] = this.ids[slot]!;
    });
    return ids.sort();
  }

  /** The user whose lower-cased email, in COPY form, is `email` (whose hash is `hash`); -1 when the location has none. */
  private slotOf(email: string, hash: number): number {
    const mask = this.table.length - 1;
    for (let i = hash & mask; this.table[i] !== 0; i = (i + 1) & mask) {
      const slot = this.table[i]! - 1;
      const start = this.emailStart[slot]!;
      if (this.emailHash[slot] === hash && this.activeAt[slot]! - 1 - start === email.length && this.textOf(slot).startsWith(email, start)) {
        return slot;
      }
    }
    return -1;
  }

  /** The piece of COPY text that holds the user's line. */
  private textOf(slot: number): string {
    return this.segments[this.segmentOf[slot]!]!;
  }

  private isActive(slot: number): boolean {
    return this.textOf(slot).charCodeAt(this.activeAt[slot]!) === LETTER_T;
  }

  /** True when the remote user's active flag, name, remote id and role are exactly the local ones. */
  private isUnchanged(slot: number, u: RemoteUser): boolean {
    if (u.isActive !== this.isActive(slot)) return false;
    // name \t remote_id \t role, as COPY wrote them.
    const nameAt = this.activeAt[slot]! + 2;
    const name = copyField(u.name);
    const remoteId = copyField(u.remoteId);
    const role = copyField(u.role);
    const idAt = nameAt + name.length + 1;
    const roleAt = idAt + remoteId.length + 1;
    const text = this.textOf(slot);
    return (
      this.lineEnd[slot] === roleAt + role.length &&
      text.charCodeAt(idAt - 1) === TAB &&
      text.charCodeAt(roleAt - 1) === TAB &&
      text.startsWith(name, nameAt) &&
      text.startsWith(remoteId, idAt) &&
      text.startsWith(role, roleAt)
    );
  }

  /** The remote row of an unchanged user, rebuilt from the local fields it matched. */
  private remoteUserAt(slot: number, email: string): RemoteUser {
    const [name = '', remoteId = '\\N', role = '\\N'] = this.textOf(slot)
      .slice(this.activeAt[slot]! + 2, this.lineEnd[slot])
      .split('\t');
    return { email, name: fromCopyText(name) ?? '', remoteId: fromCopyText(remoteId), role: fromCopyText(role), isActive: this.isActive(slot) };
  }
}

/** A power of two at least twice the count, so probes stay short. */
function tableSizeFor(count: number): number {
  let size = 16;
  while (size < count * 2) size *= 2;
  return size;
}
