import type { Request, Response } from 'express';
import type { TFunction } from 'i18next';
import { pipeline } from 'node:stream/promises';
import { EXPORT_COLUMNS, type ExportColumn, type SyncRunExportService } from './run-export.service';
import { z } from 'zod';
import type { LocationService } from '../locations/location.service';
import type { SyncProgress } from './data/sync-jobs.queries';
import type { SyncJobService } from './sync-jobs.service';
import { SECTION_KINDS, type SectionKind, type UserSyncService } from './user-sync.service';
import { flash } from '../platform/http/flash';
import type { Formatter } from '../platform/i18n/format';
import { readId, rowId } from '../platform/http/params';
import { validate } from '../platform/http/validate';

const RUNS_PER_PAGE = 50;

const previewForm = z.object({ location_id: rowId });
const executeForm = z.object({ confirm_code: z.string().max(64).optional() });
// A page number out of range (an edited link, a run that shrank) shows the first page rather than an error.
const pageNumber = z.coerce.number().int().min(1).max(1_000_000).catch(1).default(1);
const sectionPagesQuery = z.object({
  new_page: pageNumber,
  update_page: pageNumber,
  deactivate_page: pageNumber,
  rejected_page: pageNumber,
  unchanged_page: pageNumber,
});
const runsQuery = z.object({
  location: z
    .string()
    .trim()
    .max(32)
    .optional()
    .transform((v) => v || undefined),
  page: pageNumber,
});
const readPreviewForm = validate.body(previewForm);
const readExecuteForm = validate.body(executeForm);
const readSectionPages = validate.query(sectionPagesQuery);
const readRunsQuery = validate.query(runsQuery);

/** The catalog key of why a run cannot be executed. */
function notExecutableKey(status: string): string {
  if (status === 'expired') return 'sync.flash.expired';
  if (status === 'executing') return 'sync.flash.alreadyExecuting';
  if (status === 'queued' || status === 'previewing') return 'sync.flash.notReady';
  if (status === 'failed') return 'sync.flash.notExecutable';
  return 'sync.flash.reportOnly';
}

const RUNNING_STATUSES: ReadonlySet<string> = new Set(['queued', 'previewing', 'executing']);
/** How often a running run's page reloads itself without JavaScript (the script polls faster). */
const REFRESH_SECONDS = 2;

/**
 * What the progress page and its script show: the phase and the figures, the same on every instance;
 * the label and the figures' text in the page's language (the script shows them as they come).
 */
function progressView(progress: SyncProgress, t: TFunction, fmt: Formatter) {
  const running = RUNNING_STATUSES.has(progress.status);
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
    cancellable: progress.status === 'queued' || (progress.status === 'previewing' && !progress.cancelRequested),
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
  locations: LocationService;
  syncExport: SyncRunExportService;
}) {
  return {
    /** The run's plan (or what it did) as a CSV download; streamed, so a run of any size costs little memory. */
    async exportCsv(req: Request, res: Response) {
      const id = readId(req);
      const headers = Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, req.t(`export.columns.${column}`)])) as Record<ExportColumn, string>;
      const { filename, stream } = await deps.syncExport.csv(id, headers);
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
      if (RUNNING_STATUSES.has(head.status)) {
        const progress = progressView(await deps.syncJobs.progress(id), req.t, res.locals.fmt);
        res.set('Cache-Control', 'no-store');
        res.render('admin/sync/progress', {
          title: req.t('sync.title', { code: head.locationCode, id: head.id }),
          run: head,
          progress,
          refreshSeconds: REFRESH_SECONDS,
        });
        return;
      }
      const query = readSectionPages(req);
      const pages: Record<SectionKind, number> = {
        new: query.new_page,
        update: query.update_page,
        deactivate: query.deactivate_page,
        rejected: query.rejected_page,
        unchanged: query.unchanged_page,
      };
      const { run, sections, unchanged } = await deps.userSync.describeRun(id, pages);
      const sectionPageUrl = (kind: SectionKind, page: number) => {
        const params = new URLSearchParams();
        for (const k of [...SECTION_KINDS, 'unchanged'] as const) {
          const value = k === kind ? page : pages[k];
          if (value > 1) params.set(`${k}_page`, String(value));
        }
        const search = params.toString();
        return `/admin/users/sync/${run.id}${search ? `?${search}` : ''}#section-${kind}`;
      };
      res.render('admin/sync/show', {
        title: req.t('sync.title', { code: run.locationCode, id: run.id }),
        run,
        sections,
        unchanged,
        // Folded unless the admin is paging through it.
        unchangedOpen: req.query.unchanged_page !== undefined,
        sectionPageUrl,
      });
    },

    async execute(req: Request, res: Response) {
      const id = readId(req);
      const { confirm_code: confirmCode } = readExecuteForm(req);
      const outcome = await deps.syncJobs.startExecute(id, req.currentUser!.id, confirmCode);
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
          flash(req, 'error', req.t(notExecutableKey(outcome.status)));
          break;
        case 'stale':
        case 'completed':
        case 'handed-over':
          break;
      }
      res.redirect(303, `/admin/users/sync/${id}`);
    },

    async history(req: Request, res: Response) {
      const filter = readRunsQuery(req);
      const [result, locations] = await Promise.all([
        deps.userSync.listRuns({ locationCode: filter.location, page: filter.page, perPage: RUNS_PER_PAGE }),
        deps.locations.list(),
      ]);
      res.render('admin/sync/runs', {
        title: req.t('runs.title'),
        filter,
        result,
        locations,
        pageUrl: (page: number) => {
          const params = new URLSearchParams();
          if (filter.location) params.set('location', filter.location);
          params.set('page', String(page));
          return `/admin/sync-runs?${params.toString()}`;
        },
      });
    },
  };
}
