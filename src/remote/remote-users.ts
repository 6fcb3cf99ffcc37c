import { z } from 'zod';
import type { Location } from '../locations/locations.queries';
import {
  MAX_EMAIL_LENGTH,
  emailLookAlikeReason,
  isValidEmail,
  normaliseAsciiEmail,
  normaliseEmail,
  showInvisible,
  withoutInvisible,
} from '../platform/email';

/** A remote user as the contract defines it, normalised (email trimmed, NFKC-folded and lower-cased). */
export interface RemoteUser {
  email: string;
  name: string;
  remoteId: string | null;
  role: string | null;
  isActive: boolean;
}

/** A remote row that cannot be used, with the reason an admin reads in the preview. */
export interface RejectedRemoteRow {
  page: number;
  /**
   * The email as sent (normalised, invisible characters taken out) when there was a string, for the "do
   * not deactivate" rule.
   */
  email: string | null;
  reason: string;
  /** A short JSON excerpt of the row, for the admin to recognise it. */
  excerpt: string;
}

export interface RemoteUserPage {
  page: number;
  users: RemoteUser[];
  rejected: RejectedRemoteRow[];
  /** How many pages and rows the whole list has, when the remote's pages say so. */
  of?: { pages: number | null; users: number | null };
}

/** Where a location's list is read from: the online URL, the API login and the variables that hold it. */
export interface RemoteSource {
  url: string;
  login: string;
  credential: string;
}

/** Where the sync reads a location's users from: all pages, in order, or an error. */
export interface RemoteUserSource {
  fetchUsers(location: Location, options?: { signal?: AbortSignal }): AsyncIterable<RemoteUserPage>;
  /** The source a fetch of the location would read now; throws like a fetch when it has none. */
  describeSource(location: Location): RemoteSource;
}

const EXCERPT_LENGTH = 200;

/**
 * Text PostgreSQL cannot store (NUL, a lone UTF-16 surrogate) or that is unsafe to show an admin (any
 * other C0 or C1 control character, tabs and line breaks included): such a row is rejected, not stored.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;

/** Why a text value of a remote row cannot be used, or undefined when it can. */
export function unsafeTextReason(field: string, value: string): string | undefined {
  const match = UNSAFE_TEXT.exec(value);
  if (!match) return undefined;
  const code = match[0].charCodeAt(0);
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  return code >= 0xd800 && code <= 0xdfff ? `${field} contains an unpaired surrogate (U+${hex})` : `${field} contains a control character (U+${hex})`;
}

/** Any control character or surrogate, paired or not: a cheaper first test, since almost no value has one. */
// eslint-disable-next-line no-control-regex -- as above
const MAYBE_UNSAFE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/;

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

const hasUnsafeText = (value: unknown) => typeof value === 'string' && MAYBE_UNSAFE.test(value) && UNSAFE_TEXT.test(value);

const activeFlag = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.literal('0'), z.literal('1')])
  .transform((v) => v === true || v === 1 || v === '1');

const remoteUserSchema = z.object({
  email: z.string({ error: (issue) => (issue.input === undefined ? 'email is missing' : 'email is not a string') }),
  name: z
    .string({ error: 'name is not a string' })
    .max(255, 'name is longer than 255 characters')
    .nullish()
    .transform((v) => v ?? ''),
  id: z
    .union([z.number().int(), z.string()], { error: 'id is neither a number nor a string' })
    .refine((v) => typeof v !== 'string' || v.length <= 255, 'id is longer than 255 characters')
    .nullish()
    .transform((v) => (v === null || v === undefined ? null : String(v))),
  role: z
    .string({ error: 'role is not a string' })
    .max(64, 'role is longer than 64 characters')
    .nullish()
    .transform((v) => v ?? null),
  is_active: activeFlag.nullish().transform((v) => v ?? true),
});

function excerptOf(raw: unknown): string {
  let text: string;
  try {
    text = showInvisible(JSON.stringify(raw) ?? String(raw));
  } catch {
    text = String(raw);
  }
  return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}…` : text;
}

/**
 * The row every well-behaved server sends (each field of its plain JSON type, within the schema's limits),
 * read without zod: the schema costs microseconds a row, a third of a 100,000-user preview. Accepts
 * exactly a subset of what the schema accepts, with the same result; anything else goes to the schema.
 */
function readPlainRow(row: Record<string, unknown>): RemoteUser | undefined {
  const { email, name, id, role, is_active: isActive } = row;
  // Printable ASCII, as almost every email is; any other goes to the schema path and its look-alike checks.
  if (typeof email !== 'string' || NOT_PRINTABLE_ASCII.test(email)) return undefined;
  if (hasUnsafeText(name) || hasUnsafeText(id) || hasUnsafeText(role)) return undefined;
  if (name != null && !(typeof name === 'string' && name.length <= 255)) return undefined;
  if (id != null && !((typeof id === 'number' && Number.isSafeInteger(id)) || (typeof id === 'string' && id.length <= 255))) return undefined;
  if (role != null && !(typeof role === 'string' && role.length <= 64)) return undefined;
  if (isActive != null && typeof isActive !== 'boolean') return undefined;
  const normalised = normaliseAsciiEmail(email);
  if (!isValidEmail(normalised)) return undefined;
  return {
    email: normalised,
    name: (name ?? '').trim(),
    remoteId: id == null ? null : String(id),
    role: role ?? null,
    isActive: isActive ?? true,
  };
}

/** Validates one row of a users page: a usable user, or a rejection with its reason. */
export function parseRemoteUser(raw: unknown, page: number): { ok: true; user: RemoteUser } | { ok: false; rejected: RejectedRemoteRow } {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const plain = readPlainRow(raw as Record<string, unknown>);
    if (plain) return { ok: true, user: plain };
  }
  const sentEmail = raw !== null && typeof raw === 'object' ? (raw as { email?: unknown }).email : undefined;
  // Kept for the "a rejected row does not deactivate" rule only when it can be stored and shown; a row
  // whose email holds an invisible character stands for the address without it.
  const keptEmail =
    typeof sentEmail === 'string' && !hasUnsafeText(sentEmail) && sentEmail.length <= MAX_EMAIL_LENGTH
      ? withoutInvisible(normaliseEmail(sentEmail))
      : null;
  const rawEmail = keptEmail !== null && keptEmail.length <= MAX_EMAIL_LENGTH ? keptEmail : null;
  const reject = (reason: string) => ({
    ok: false as const,
    rejected: { page, email: rawEmail, reason, excerpt: excerptOf(raw) },
  });

  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return reject('not a JSON object');
  const parsed = remoteUserSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? '');
    const reason = issue.message.startsWith(field) ? issue.message : `${field || 'row'}: ${issue.message}`;
    return reject(field === 'is_active' ? 'is_active is not a boolean, 0/1 or "0"/"1"' : reason);
  }
  for (const field of ['email', 'name', 'id', 'role'] as const) {
    const value = (raw as Record<string, unknown>)[field];
    const unsafe = typeof value === 'string' ? unsafeTextReason(field, value) : undefined;
    if (unsafe) return reject(unsafe);
  }
  const email = normaliseEmail(parsed.data.email);
  if (email === '') return reject('email is empty');
  if (email.length > MAX_EMAIL_LENGTH) return reject(`email is longer than ${MAX_EMAIL_LENGTH} characters`);
  const lookAlike = emailLookAlikeReason(email);
  if (lookAlike) return reject(lookAlike);
  if (!isValidEmail(email)) return reject(`invalid email "${email}"`);
  return {
    ok: true,
    user: {
      email,
      name: parsed.data.name.trim(),
      remoteId: parsed.data.id,
      role: parsed.data.role,
      isActive: parsed.data.is_active,
    },
  };
}

/** Splits a page's rows into usable users and rejections. */
export function parseRemoteUsers(rows: unknown[], page: number): RemoteUserPage {
  const users: RemoteUser[] = [];
  const rejected: RejectedRemoteRow[] = [];
  for (const row of rows) {
    const result = parseRemoteUser(row, page);
    if (result.ok) users.push(result.user);
    else rejected.push(result.rejected);
  }
  return { page, users, rejected };
}
