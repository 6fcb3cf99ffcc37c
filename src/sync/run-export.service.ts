import { stringify } from 'csv-stringify';
import { Readable } from 'node:stream';
import { NotFoundError } from '../platform/errors';
import type { ExportedItem, SyncRun, SyncRunsRepository } from './data/sync-runs.queries';
import { SECTION_KINDS } from './user-sync.service';

/** Items read per query: a few hundred kilobytes held at a time, whatever the size of the run. */
const BATCH = 2000;

/** The fields an item's before and after can hold, in the order the changes column lists them. */
const CHANGED_FIELDS = ['name', 'role', 'is_active', 'remote_id'] as const;

/** `reason` in the reader's language, `reason_code` as stored (for scripts: the same in every language). */
export const EXPORT_COLUMNS = ['category', 'reason', 'email', 'name', 'role', 'status', 'changes', 'reason_code'] as const;

export type ExportColumn = (typeof EXPORT_COLUMNS)[number];
type ExportRow = Record<ExportColumn, string>;

const statusOf = (active: unknown) => (active === true ? 'active' : active === false ? 'inactive' : '');

const shown = (value: unknown) => (value === null || value === undefined ? '(none)' : String(value));

const text = (value: unknown) => (typeof value === 'string' ? value : '');

/** A rejected row's excerpt is the remote row as JSON, when it could be read; anything else shows nothing. */
function excerptFields(excerpt: string | null): Record<string, unknown> {
  if (!excerpt) return {};
  try {
    const parsed: unknown = JSON.parse(excerpt);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A stored reason in the reader's words (describeReason with the reader's translator). */
export type ReasonWords = (code: string | null, params: Record<string, unknown> | null) => string;

/** One line of the CSV: the user as the plan leaves them, and each changed field as "field: before → after". */
export function exportRow(item: ExportedItem, reasonWords: ReasonWords): ExportRow {
  const before = item.before ?? {};
  const after = item.after ?? {};
  // A revert's conflict lists what reverting it would write (now → before the reverted run), were it ticked.
  const changes = CHANGED_FIELDS.filter(
    (field) => field in after && (item.kind === 'update' || item.kind === 'deactivate' || item.kind === 'conflict'),
  )
    .map((field) => `${field}: ${shown(before[field])} → ${shown(after[field])}`)
    .join('; ');
  const base = {
    category: item.kind,
    reason: reasonWords(item.reason, item.reasonParams),
    email: item.email ?? '',
    changes,
    reason_code: item.reason ?? '',
  };
  switch (item.kind) {
    case 'new':
      return { ...base, name: text(after.name), role: text(after.role), status: statusOf(after.is_active) };
    case 'rejected': {
      const remote = excerptFields(item.excerpt);
      return { ...base, name: text(remote.name), role: text(remote.role), status: '' };
    }
    case 'conflict':
      // Left alone unless ticked: the user stays as it is now.
      return {
        ...base,
        name: text(before.name ?? item.user?.name),
        role: text(before.role ?? item.user?.role),
        status: statusOf(before.is_active ?? item.user?.isActive),
      };
    default: {
      // Update and deactivate items hold only the fields they change; the rest is the user's own.
      const pick = (field: 'name' | 'role') =>
        field in after ? text(after[field]) : field in before ? text(before[field]) : (item.user?.[field] ?? '');
      const active = 'is_active' in after ? after.is_active : item.user?.isActive;
      return { ...base, name: pick('name'), role: pick('role'), status: statusOf(active) };
    }
  }
}

/**
 * A run's plan (or, once executed, what it did) as CSV, one line per user, streamed a batch at a time so a
 * run of a million users never sits in memory. Cells that a spreadsheet would run as a formula (starting
 * with = + - @) get a leading apostrophe: a remote name is remote input.
 */
export class SyncRunExportService {
  constructor(private readonly deps: { syncRuns: Pick<SyncRunsRepository, 'findById' | 'exportBatch'> }) {}

  /** `words`: the header row and the reasons in the reader's language (the page's). */
  async csv(
    runId: number,
    words: { headers: Record<ExportColumn, string>; reason: ReasonWords },
  ): Promise<{ run: SyncRun; filename: string; stream: Readable }> {
    const run = await this.deps.syncRuns.findById(runId);
    if (!run) throw new NotFoundError('Sync run not found.');
    const rows = Readable.from(this.rows(run.id, words.reason));
    const columns = EXPORT_COLUMNS.map((key) => ({ key, header: words.headers[key] }));
    const csv = stringify({ header: true, columns, escape_formulas: true });
    rows.on('error', (error) => csv.destroy(error));
    return { run, filename: exportFilename(run), stream: rows.pipe(csv) };
  }

  private async *rows(runId: number, reasonWords: ReasonWords): AsyncGenerator<ExportRow> {
    // The categories in the order the run page shows them.
    for (const kind of SECTION_KINDS) {
      for (let afterId = 0; ;) {
        const batch = await this.deps.syncRuns.exportBatch(runId, kind, afterId, BATCH);
        for (const item of batch) yield exportRow(item, reasonWords);
        if (batch.length < BATCH) break;
        afterId = batch[batch.length - 1]!.id;
      }
    }
  }
}

/** `sinkron-sync-DEV-run-42.csv`: the location code is letters, digits, _ and - already; anything else becomes -. */
export const exportFilename = (run: Pick<SyncRun, 'id' | 'locationCode'>) =>
  `sinkron-sync-${run.locationCode.replace(/[^A-Za-z0-9_-]/g, '-')}-run-${run.id}.csv`;
