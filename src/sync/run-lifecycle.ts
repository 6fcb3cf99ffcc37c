/**
 * The life of a sync run, in one table: how a run starts, and for each event the statuses it may come
 * from and the status it goes to. Every write of a run's status goes through `transition` (in
 * data/sync-runs.queries.ts), so a status can change only as this table says; every list of statuses
 * elsewhere (the running ones, the executable one, the history's filter, the metrics) is derived here.
 * docs/USER_SYNC_FEATURE.md shows the table as a diagram, which a test holds to it.
 */

export const RUN_STATUSES = [
  'queued',
  'previewing',
  'previewed',
  'no_change',
  'executing',
  'completed',
  'failed',
  'expired',
  'discarded',
  'superseded',
  'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** How a run comes to be, and the status it is written with. */
export const RUN_STARTS = {
  /** A preview (or drift check) for a job to make. */
  queue: 'queued',
  /** A preview made at once (the CLI, a revert): written in the preview's transaction, seen only with its plan. */
  openInline: 'previewed',
  /** A preview that failed before it had a run of its own: its audit record. */
  recordFailure: 'failed',
} as const satisfies Record<string, RunStatus>;

export const RUN_TRANSITIONS = {
  /** A worker takes the queued preview. */
  claim: { from: ['queued'], to: 'previewing' },
  /** A preview whose worker stopped (or was lost) goes back to the queue, to start from scratch. */
  handBack: { from: ['queued', 'previewing'], to: 'queued' },
  /** The plan is saved and has something to execute. */
  planReady: { from: ['previewing', 'previewed'], to: 'previewed' },
  /** The plan is saved and changes nothing: there is nothing to execute, and it never expires. */
  planEmpty: { from: ['previewing', 'previewed'], to: 'no_change' },
  /** The remote list could not be read, the preview failed otherwise, or its job used up its attempts. */
  failPreview: { from: ['queued', 'previewing'], to: 'failed' },
  /** An admin cancels a queued or running preview. */
  cancel: { from: ['queued', 'previewing'], to: 'cancelled' },
  /** Confirm & Execute, checked, hands the plan to its job. */
  handOver: { from: ['previewed'], to: 'executing' },
  /** An execute whose job stopped before it committed: the preview is open again. */
  interruptExecute: { from: ['executing'], to: 'previewed' },
  /** The plan is applied (inline, or by its job). */
  complete: { from: ['previewed', 'executing'], to: 'completed' },
  /** Applying the plan failed and rolled back. */
  failExecute: { from: ['previewed', 'executing'], to: 'failed' },
  /** An execute found the preview past its time (reads see it expired before this is written). */
  expire: { from: ['previewed'], to: 'expired' },
  /** An admin discarded the open preview. */
  discard: { from: ['previewed'], to: 'discarded' },
  /** The location's source changed after the preview: the plan describes another list. */
  supersede: { from: ['previewed', 'executing'], to: 'superseded' },
} as const satisfies Record<string, { from: readonly RunStatus[]; to: RunStatus }>;

export type RunEvent = keyof typeof RUN_TRANSITIONS;

/** The statuses a job holds a run in, and hands it back from when its worker stops: at most one such run per location. */
export const RUNNING_STATUSES: readonly RunStatus[] = [...new Set([...RUN_TRANSITIONS.handBack.from, ...RUN_TRANSITIONS.interruptExecute.from])];

/** The status whose plan may be executed. */
export const EXECUTABLE_STATUSES: readonly RunStatus[] = RUN_TRANSITIONS.handOver.from;

/** The statuses that nothing leaves: the run's outcome. */
export const FINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter(
  (status) => !Object.values(RUN_TRANSITIONS).some((t) => (t.from as readonly RunStatus[]).includes(status)),
);

/** Every status a run in one of `statuses` can come to, those included. */
export function reachableFrom(statuses: readonly RunStatus[]): RunStatus[] {
  const reached = new Set(statuses);
  for (let grew = true; grew;) {
    grew = false;
    for (const { from, to } of Object.values(RUN_TRANSITIONS)) {
      if (!reached.has(to) && (from as readonly RunStatus[]).some((status) => reached.has(status))) {
        reached.add(to);
        grew = true;
      }
    }
  }
  return RUN_STATUSES.filter((status) => reached.has(status));
}

/** The statuses of a run that holds a saved plan: those after one, less those a preview without a plan ends in too. */
export const PLANNED_STATUSES: readonly RunStatus[] = reachableFrom([RUN_TRANSITIONS.planReady.to, RUN_TRANSITIONS.planEmpty.to]).filter(
  (status) => status !== RUN_TRANSITIONS.failPreview.to && status !== RUN_TRANSITIONS.cancel.to,
);

export const isRunning = (status: string): boolean => (RUNNING_STATUSES as readonly string[]).includes(status);

/** Whether `event` may happen to a run in `status`. */
export const canHappen = (event: RunEvent, status: string): boolean => (RUN_TRANSITIONS[event].from as readonly string[]).includes(status);

/** The table as a Mermaid state diagram, as docs/USER_SYNC_FEATURE.md shows it. */
export function renderStateDiagram(): string {
  const lines = ['stateDiagram-v2'];
  for (const [start, status] of Object.entries(RUN_STARTS)) lines.push(`    [*] --> ${status}: ${start}`);
  for (const [event, { from, to }] of Object.entries(RUN_TRANSITIONS)) {
    for (const status of from) lines.push(`    ${status} --> ${to}: ${event}`);
  }
  for (const status of FINAL_STATUSES) lines.push(`    ${status} --> [*]`);
  return lines.join('\n');
}
