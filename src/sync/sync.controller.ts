import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { SyncRunExportService } from './run-export.service';
import { z } from 'zod';
import type { LocationService } from '../locations/location.service';
import { SYNC_RUN_STATUSES, type SyncRunStatus } from './data/sync-runs.queries';
import type { SyncProgress } from './data/sync-jobs.queries';
import type { SyncRun } from './data/sync-runs.queries';
import type { SyncJobService } from './sync-jobs.service';
import { CHANGED_FIELDS, SECTION_KINDS, type SectionFilters, type SectionKind, type UserSyncService } from './user-sync.service';
import type { SyncRevertService } from './sync-revert.service';
import { flash } from '../platform/http/flash';
import { readId, rowId } from '../platform/http/params';
import { validate } from '../platform/http/validate';

const RUNS_PER_PAGE = 50;

const previewForm = z.object({ location_id: rowId });
const executeForm = z.object({
  confirm_code: z.string().max(64).optional(),
  // A revert's conflicts the admin ticked (one field per ticked box), or all of them.
  accept_conflict: z
    .union([rowId, z.array(rowId)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  accept_all_conflicts: z.literal('1').optional(),
});
// A page number out of range (an edited link, a run that shrank) shows the first page rather than an error.
const pageNumber = z.coerce.number().int().min(1).max(1_000_000).catch(1).default(1);
const searchText = z
  .string()
  .trim()
  .max(200)
  .optional()
  .catch(undefined)
  .transform((v) => v || undefined);
/** The sections of a run's page that page and filter: each its own `<kind>_page` and `<kind>_q`. */
const PAGED_SECTIONS = [...SECTION_KINDS, 'unchanged'] as const;
const sectionQuery = z.object({
  ...Object.fromEntries(
    PAGED_SECTIONS.flatMap((kind) => [
      [`${kind}_page`, pageNumber],
      [`${kind}_q`, searchText],
    ]),
  ),
  update_field: z.enum(CHANGED_FIELDS).optional().catch(undefined),
}) as unknown as z.ZodType<Record<string, string | number | undefined> & { update_field?: (typeof CHANGED_FIELDS)[number] }>;
const statusFilter = z.enum(SYNC_RUN_STATUSES).optional().catch(undefined);
const runsQuery = z.object({
  location: z
    .string()
    .trim()
    .max(32)
    .optional()
    .transform((v) => v || undefined),
  status: statusFilter,
  page: pageNumber,
});
const readPreviewForm = validate.body(previewForm);
const readExecuteForm = validate.body(executeForm);
const readSectionPages = validate.query(sectionQuery);
const readRunsQuery = validate.query(runsQuery);

/** Why a run that is not an open preview cannot be executed, by its status. */
const NOT_EXECUTABLE: Partial<Record<SyncRunStatus, string>> = {
  expired: 'This preview expired; run it again.',
  executing: 'This sync is already being executed; this page shows it.',
  queued: 'This preview is not ready yet.',
  previewing: 'This preview is not ready yet.',
  failed: 'This sync run failed and cannot be executed; run the preview again.',
  cancelled: 'This preview was cancelled and cannot be executed; run the preview again.',
  discarded: 'This preview was discarded and cannot be executed; run the preview again.',
  superseded: 'This preview was superseded (its location changed) and cannot be executed; run the preview again.',
  no_change: 'Nothing to execute: the users already match the remote.',
};
/** An open preview refused anyway is a drift check's report. */
const DRIFT_NOT_EXECUTABLE = 'This run cannot be executed (a drift check is a report only); run a preview to sync.';

const formatTime = (date: Date | null | undefined) => (date ? `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC` : '—');

const runTitle = (run: SyncRun) =>
  run.revertsRunId === null ? `Sync ${run.locationCode} #${run.id}` : `Revert of #${run.revertsRunId} on ${run.locationCode} #${run.id}`;

const RUNNING_STATUSES: ReadonlySet<string> = new Set(['queued', 'previewing', 'executing']);
/** How often a running run's page reloads itself without JavaScript (the script polls faster). */
const REFRESH_SECONDS = 2;

const PHASE_LABELS: Record<SyncProgress['phase'], string> = {
  queued: 'Queued: waiting for a worker',
  signing_in: 'Signing in to the remote',
  fetching: 'Fetching the remote users',
  planning: 'Planning the changes',
  executing: 'Executing: applying the plan in one transaction',
};

/** What the progress page and its script show: the phase and the figures, the same on every instance. */
function progressView(progress: SyncProgress) {
  const running = RUNNING_STATUSES.has(progress.status);
  const executing = progress.status === 'executing';
  const phase = running ? progress.phase : 'ready';
  return {
    status: progress.status,
    running,
    phase,
    phaseLabel: running ? PHASE_LABELS[executing && progress.phase === 'queued' ? 'queued' : progress.phase] : 'Ready',
    pagesFetched: progress.pagesFetched,
    pagesTotal: progress.pagesTotal,
    usersFetched: progress.usersFetched,
    usersTotal: progress.usersTotal,
    elapsedSeconds: progress.elapsedSeconds,
    cancellable: progress.status === 'queued' || (progress.status === 'previewing' && !progress.cancelRequested),
    cancelRequested: progress.cancelRequested,
    attempt: progress.attempt,
  };
}

export function createSyncController(deps: {
  userSync: UserSyncService;
  syncJobs: SyncJobService;
  syncRevert: SyncRevertService;
  locations: LocationService;
  syncExport: SyncRunExportService;
}) {
  return {
    /** The run's plan (or what it did) as a CSV download; streamed, so a run of any size costs little memory. */
    async exportCsv(req: Request, res: Response) {
      const id = readId(req);
      const { filename, stream } = await deps.syncExport.csv(id);
      res.attachment(filename);
      res.type('text/csv; charset=utf-8');
      res.set('Cache-Control', 'no-store');
      await pipeline(stream, res);
    },

    async preview(req: Request, res: Response) {
      const { location_id: locationId } = readPreviewForm(req);
      const { runId, alreadyRunning } = await deps.syncJobs.startPreview(locationId, req.currentUser!.id);
      if (alreadyRunning) flash(req, 'info', 'A sync of this location is already running: here it is. Start another one when it is done.');
      res.redirect(303, `/admin/users/sync/${runId}`);
    },

    /** The figures of a run as JSON, polled by the progress page's script. */
    async progress(req: Request, res: Response) {
      const id = readId(req);
      res.set('Cache-Control', 'no-store');
      res.json(progressView(await deps.syncJobs.progress(id)));
    },

    async cancel(req: Request, res: Response) {
      const id = readId(req);
      const result = await deps.syncJobs.cancel(id);
      if (result === 'not-running') flash(req, 'info', 'This sync is not running any more: nothing to cancel.');
      else flash(req, 'info', result === 'cancelled' ? 'The preview was cancelled.' : 'The preview is being cancelled.');
      res.redirect(303, `/admin/users/sync/${id}`);
    },

    async show(req: Request, res: Response) {
      const id = readId(req);
      const head = await deps.userSync.findRun(id);
      if (RUNNING_STATUSES.has(head.status)) {
        const progress = progressView(await deps.syncJobs.progress(id));
        res.set('Cache-Control', 'no-store');
        res.render('admin/sync/progress', {
          title: runTitle(head),
          run: head,
          progress,
          refreshSeconds: REFRESH_SECONDS,
          formatTime,
        });
        return;
      }
      const query = readSectionPages(req);
      const pages = Object.fromEntries(PAGED_SECTIONS.map((kind) => [kind, query[`${kind}_page`] as number])) as Record<SectionKind, number>;
      const filters: SectionFilters = {
        search: Object.fromEntries(PAGED_SECTIONS.map((kind) => [kind, query[`${kind}_q`] as string | undefined])),
        field: query.update_field,
      };
      const { run, sections, unchanged, deactivationReasons } = await deps.userSync.describeRun(id, pages, filters);
      const revert = await deps.syncRevert.status(run.id);
      /** The page's query with one section's parameters replaced: every other section keeps its page and filter. */
      const sectionParams = (kind: SectionKind, changes: Record<string, string | number | undefined>) => {
        const params: Array<[string, string]> = [];
        for (const k of PAGED_SECTIONS) {
          const values: Record<string, string | number | undefined> = { [`${k}_page`]: pages[k], [`${k}_q`]: filters.search[k] };
          if (k === 'update') values.update_field = filters.field;
          if (k === kind) Object.assign(values, changes);
          for (const [key, value] of Object.entries(values)) {
            if (value !== undefined && value !== '' && !(key.endsWith('_page') && value === 1)) params.push([key, String(value)]);
          }
        }
        return params;
      };
      const sectionPageUrl = (kind: SectionKind, page: number) => {
        const search = new URLSearchParams(sectionParams(kind, { [`${kind}_page`]: page })).toString();
        return `/admin/users/sync/${run.id}${search ? `?${search}` : ''}#section-${kind}`;
      };
      /** Hidden fields that keep the other sections' state in a section's filter or jump form. */
      const otherSectionFields = (kind: SectionKind) =>
        sectionParams(kind, { [`${kind}_page`]: undefined, [`${kind}_q`]: undefined, ...(kind === 'update' ? { update_field: undefined } : {}) });
      /** Hidden fields that keep everything but the section's page, for its jump-to-page form. */
      const pageJumpFields = (kind: SectionKind) => sectionParams(kind, { [`${kind}_page`]: undefined });
      res.render('admin/sync/show', {
        title: runTitle(run),
        run,
        revert,
        sections,
        unchanged,
        deactivationReasons,
        filters,
        changedFields: CHANGED_FIELDS,
        // Folded unless the admin is paging through them or filtering them.
        unchangedOpen: req.query.unchanged_page !== undefined || unchanged.filtered,
        linkedOpen: req.query.linked_page !== undefined || Boolean(filters.search.linked),
        sectionPageUrl,
        otherSectionFields,
        pageJumpFields,
        formAction: `/admin/users/sync/${run.id}`,
        formatTime,
      });
    },

    async execute(req: Request, res: Response) {
      const id = readId(req);
      const form = readExecuteForm(req);
      const confirmCode = form.confirm_code;
      const accepted = form.accept_all_conflicts ? 'all' : form.accept_conflict;
      const outcome = await deps.syncJobs.startExecute(id, req.currentUser!.id, confirmCode, accepted);
      switch (outcome.kind) {
        case 'location-busy':
          flash(req, 'error', 'Another sync of this location is running: execute this one when it is done. Nothing was changed.');
          break;
        case 'already-completed':
          flash(req, 'info', 'This sync had already been executed; this is its result.');
          break;
        case 'confirmation-required': {
          const { run } = outcome;
          const typed = confirmCode?.trim() ? 'The code you typed does not match' : 'No location code was typed';
          flash(
            req,
            'error',
            `${typed}: type ${run.locationCode} to confirm this sync, which deactivates ${run.deactivateCount} ` +
              `of ${run.localActiveCount} active users. Nothing was changed.`,
          );
          break;
        }
        case 'expired':
          flash(req, 'error', 'This preview expired; run it again.');
          break;
        case 'not-executable':
          flash(req, outcome.status === 'no_change' ? 'info' : 'error', NOT_EXECUTABLE[outcome.status] ?? DRIFT_NOT_EXECUTABLE);
          break;
        case 'superseded':
          flash(req, 'error', `${outcome.reason} This preview no longer describes that list, so nothing was changed: run the preview again.`);
          break;
        case 'stale':
        case 'completed':
        case 'handed-over':
          break;
      }
      res.redirect(303, `/admin/users/sync/${id}`);
    },

    /** Revert this sync…: plans the way back as a preview of its own and lands on it. */
    async revert(req: Request, res: Response) {
      const id = readId(req);
      const outcome = await deps.syncRevert.preview(id, req.currentUser!.id);
      if (outcome.kind === 'refused') {
        flash(req, 'error', outcome.reason);
        res.redirect(303, `/admin/users/sync/${id}`);
        return;
      }
      res.redirect(303, `/admin/users/sync/${outcome.runId}`);
    },

    async discard(req: Request, res: Response) {
      const id = readId(req);
      const outcome = await deps.userSync.discard(id, req.currentUser!.id);
      if (outcome.kind === 'discarded') flash(req, 'success', 'Preview discarded; nothing was changed.');
      else flash(req, 'error', `This sync run is not an open preview (${outcome.status.replace('_', ' ')}); nothing to discard.`);
      res.redirect(303, `/admin/users/sync/${id}`);
    },

    async history(req: Request, res: Response) {
      const filter = readRunsQuery(req);
      const [result, locations] = await Promise.all([
        deps.userSync.listRuns({ locationCode: filter.location, status: filter.status, page: filter.page, perPage: RUNS_PER_PAGE }),
        deps.locations.list(),
      ]);
      res.render('admin/sync/runs', {
        title: 'Sync history',
        filter,
        result,
        locations,
        statuses: SYNC_RUN_STATUSES,
        formatTime,
        pageUrl: (page: number) => {
          const params = new URLSearchParams();
          if (filter.location) params.set('location', filter.location);
          if (filter.status) params.set('status', filter.status);
          params.set('page', String(page));
          return `/admin/sync-runs?${params.toString()}`;
        },
      });
    },
  };
}
