import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { SyncRunExportService } from './run-export.service';
import { z } from 'zod';
import type { LocationService } from '../locations/location.service';
import type { SyncProgress } from './data/sync-jobs.queries';
import type { SyncJobService } from './sync-jobs.service';
import { SECTION_KINDS, type SectionKind, type UserSyncService } from './user-sync.service';
import { flash } from '../platform/http/flash';
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

function notExecutableMessage(status: string): string {
  if (status === 'expired') return 'This preview expired; run it again.';
  if (status === 'executing') return 'This sync is already being executed; this page shows it.';
  if (status === 'queued' || status === 'previewing') return 'This preview is not ready yet.';
  if (status === 'failed') return 'This sync run failed and cannot be executed; run the preview again.';
  return 'This run cannot be executed (a drift check is a report only); run a preview to sync.';
}

const formatTime = (date: Date | null | undefined) => (date ? `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC` : '—');

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
          title: `Sync ${head.locationCode} #${head.id}`,
          run: head,
          progress,
          refreshSeconds: REFRESH_SECONDS,
          formatTime,
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
        title: `Sync ${run.locationCode} #${run.id}`,
        run,
        sections,
        unchanged,
        // Folded unless the admin is paging through it.
        unchangedOpen: req.query.unchanged_page !== undefined,
        sectionPageUrl,
        formatTime,
      });
    },

    async execute(req: Request, res: Response) {
      const id = readId(req);
      const { confirm_code: confirmCode } = readExecuteForm(req);
      const outcome = await deps.syncJobs.startExecute(id, req.currentUser!.id, confirmCode);
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
          flash(req, 'error', notExecutableMessage(outcome.status));
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
        title: 'Sync history',
        filter,
        result,
        locations,
        formatTime,
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
