import type { Request, Response } from 'express';
import type { TFunction } from 'i18next';
import { pipeline } from 'node:stream/promises';
import { EXPORT_COLUMNS, type ExportColumn, type SyncRunExportService } from './run-export.service';
import { z } from 'zod';
import type { LocationService } from '../locations/location.service';
import { SYNC_RUN_STATUSES, type SyncRunStatus } from './data/sync-runs.queries';
import { canHappen, isRunning } from './run-lifecycle';
import { describeReason } from './describe-reason';
import { describeRemoteFailure } from '../remote/remote-failures';
import type { SyncProgress } from './data/sync-jobs.queries';
import type { SyncRun } from './data/sync-runs.queries';
import type { SyncJobService } from './sync-jobs.service';
import { CHANGED_FIELDS, SECTION_KINDS, type SectionFilters, type SectionKind, type UserSyncService } from './user-sync.service';
import type { SyncRevertService } from './sync-revert.service';
import { flash } from '../platform/http/flash';
import type { Formatter } from '../platform/i18n/format';
import { pageUrlFor, readId, rowId } from '../platform/http/params';
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

/** The catalog key of why a run that is not an open preview cannot be executed, by its status. */
const NOT_EXECUTABLE: Partial<Record<SyncRunStatus, string>> = {
  expired: 'sync.flash.expired',
  executing: 'sync.flash.alreadyExecuting',
  queued: 'sync.flash.notReady',
  previewing: 'sync.flash.notReady',
  failed: 'sync.flash.notExecutable',
  cancelled: 'sync.flash.notExecutableCancelled',
  discarded: 'sync.flash.notExecutableDiscarded',
  superseded: 'sync.flash.notExecutableSuperseded',
  no_change: 'sync.flash.nothingToExecute',
};

const runTitle = (t: TFunction, run: SyncRun) =>
  run.revertsRunId === null
    ? t('sync.title', { code: run.locationCode, id: run.id })
    : t('sync.revertTitle', { reverts: run.revertsRunId, code: run.locationCode, id: run.id });

/** Each status's badge on the run page and in the history: the compiler holds it to the lifecycle's list. */
const STATUS_BADGES: Record<SyncRunStatus, string> = {
  queued: 'badge-warning',
  previewing: 'badge-warning',
  previewed: 'badge-info',
  no_change: 'badge-muted',
  executing: 'badge-warning',
  completed: 'badge-success',
  failed: 'badge-danger',
  expired: 'badge-muted',
  discarded: 'badge-muted',
  superseded: 'badge-warning',
  cancelled: 'badge-muted',
};

/** Why a run failed in the page's language: a remote's failure from its code, any other cause as it was written. */
const failureTextFor = (req: Request) => (run: SyncRun) =>
  run.errorCode
    ? describeRemoteFailure(req.t, { code: run.errorCode, params: { location: run.locationCode, ...run.errorParams } })
    : (run.error ?? '');

/** Stored reasons in the page's language, for the views. */
const reasonTextFor = (req: Request) => (code: string | null, params?: Record<string, unknown> | null) => describeReason(req.t, code, params);

/** How often a running run's page reloads itself without JavaScript (the script polls faster). */
const REFRESH_SECONDS = 2;

/**
 * What the progress page and its script show: the phase and the figures, the same on every instance;
 * the label and the figures' text in the page's language (the script shows them as they come).
 */
function progressView(progress: SyncProgress, t: TFunction, fmt: Formatter) {
  const running = isRunning(progress.status);
  const executing = progress.status === 'executing';
  const phase = running ? progress.phase : 'ready';
  return {
    status: progress.status,
    running,
    phase,
    phaseLabel: t(`sync.progress.phaseLabel.${running ? (executing && progress.phase === 'queued' ? 'queued' : progress.phase) : 'ready'}`),
    pagesFetched: progress.pagesFetched,
    pagesTotal: progress.pagesTotal,
    usersFetched: progress.usersFetched,
    usersTotal: progress.usersTotal,
    elapsedSeconds: progress.elapsedSeconds,
    cancellable: canHappen('cancel', progress.status) && !progress.cancelRequested,
    cancelRequested: progress.cancelRequested,
    attempt: progress.attempt,
    text: {
      pagesFetched: fmt.number(progress.pagesFetched),
      pagesTotal: progress.pagesTotal === null ? '' : t('sync.progress.ofTotal', { total: fmt.number(progress.pagesTotal) }),
      usersFetched: fmt.number(progress.usersFetched),
      usersTotal: progress.usersTotal === null ? '' : t('sync.progress.ofTotal', { total: fmt.number(progress.usersTotal) }),
      elapsed: fmt.number(progress.elapsedSeconds),
    },
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
      const headers = Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, req.t(`export.columns.${column}`)])) as Record<ExportColumn, string>;
      const { filename, stream } = await deps.syncExport.csv(id, { headers, reason: (code, params) => describeReason(req.t, code, params) });
      res.attachment(filename);
      res.type('text/csv; charset=utf-8');
      res.set('Cache-Control', 'no-store');
      await pipeline(stream, res);
    },

    async preview(req: Request, res: Response) {
      const { location_id: locationId } = readPreviewForm(req);
      const { runId, alreadyRunning } = await deps.syncJobs.startPreview(locationId, req.currentUser!.id);
      if (alreadyRunning) flash(req, 'info', req.t('sync.flash.alreadyRunning'));
      res.redirect(303, `/admin/users/sync/${runId}`);
    },

    /** The figures of a run as JSON, polled by the progress page's script. */
    async progress(req: Request, res: Response) {
      const id = readId(req);
      res.set('Cache-Control', 'no-store');
      res.json(progressView(await deps.syncJobs.progress(id), req.t, res.locals.fmt));
    },

    async cancel(req: Request, res: Response) {
      const id = readId(req);
      const result = await deps.syncJobs.cancel(id);
      if (result === 'not-running') flash(req, 'info', req.t('sync.flash.notRunning'));
      else flash(req, 'info', req.t(result === 'cancelled' ? 'sync.flash.cancelled' : 'sync.flash.cancelling'));
      res.redirect(303, `/admin/users/sync/${id}`);
    },

    async show(req: Request, res: Response) {
      const id = readId(req);
      const head = await deps.userSync.findRun(id);
      if (isRunning(head.status)) {
        const progress = progressView(await deps.syncJobs.progress(id), req.t, res.locals.fmt);
        res.set('Cache-Control', 'no-store');
        res.render('admin/sync/progress', {
          title: runTitle(req.t, head),
          run: head,
          progress,
          refreshSeconds: REFRESH_SECONDS,
        });
        return;
      }
      const query = readSectionPages(req);
      const pages = Object.fromEntries(PAGED_SECTIONS.map((kind) => [kind, query[`${kind}_page`] as number])) as Record<SectionKind, number>;
      const filters: SectionFilters = {
        search: Object.fromEntries(PAGED_SECTIONS.map((kind) => [kind, query[`${kind}_q`] as string | undefined])),
        field: query.update_field,
      };
      const { run, sections, unchanged, deactivationReasons } = await deps.userSync.describeRun(head, pages, filters);
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
        statusBadges: STATUS_BADGES,
        reasonText: reasonTextFor(req),
        failureText: failureTextFor(req),
        title: runTitle(req.t, run),
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
          flash(req, 'error', req.t('sync.flash.locationBusy'));
          break;
        case 'already-completed':
          flash(req, 'info', req.t('sync.flash.alreadyDone'));
          break;
        case 'confirmation-required': {
          const { run } = outcome;
          const fmt = res.locals.fmt;
          flash(
            req,
            'error',
            req.t(confirmCode?.trim() ? 'sync.flash.codeMismatch' : 'sync.flash.codeMissing', {
              code: run.locationCode,
              deactivate: fmt.number(run.deactivateCount),
              active: fmt.number(run.localActiveCount),
            }),
          );
          break;
        }
        case 'expired':
          flash(req, 'error', req.t('sync.flash.expired'));
          break;
        case 'not-executable':
          // An open preview refused anyway is a drift check's report.
          flash(req, outcome.status === 'no_change' ? 'info' : 'error', req.t(NOT_EXECUTABLE[outcome.status] ?? 'sync.flash.reportOnly'));
          break;
        case 'superseded':
          // The reason is the service's (in English, as the log has it).
          flash(req, 'error', req.t('sync.flash.superseded', { reason: describeReason(req.t, outcome.reason.code, outcome.reason.params) }));
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
      if (outcome.kind === 'discarded') flash(req, 'success', req.t('sync.flash.discarded'));
      else flash(req, 'error', req.t('sync.flash.notOpen', { status: req.t(`status.${outcome.status}`).toLowerCase() }));
      res.redirect(303, `/admin/users/sync/${id}`);
    },

    async history(req: Request, res: Response) {
      const filter = readRunsQuery(req);
      const [result, locations] = await Promise.all([
        deps.userSync.listRuns({ locationCode: filter.location, status: filter.status, page: filter.page, perPage: RUNS_PER_PAGE }),
        deps.locations.list(),
      ]);
      res.render('admin/sync/runs', {
        statusBadges: STATUS_BADGES,
        reasonText: reasonTextFor(req),
        failureText: failureTextFor(req),
        title: req.t('runs.title'),
        filter,
        result,
        locations,
        statuses: SYNC_RUN_STATUSES,
        pageUrl: pageUrlFor('/admin/sync-runs', { location: filter.location, status: filter.status }),
      });
    },
  };
}
