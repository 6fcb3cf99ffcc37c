/** The two calls the bench makes into the real sync service, as the container exposes it. */
import type { Container } from '../src/container';
import { runCounts } from '../src/sync/run-counts';

export async function previewSync(container: Container, input: { locationId: number; adminId: number }): Promise<Record<string, unknown>> {
  const { runId, status } = await container.services.userSync.preview(input.locationId, input.adminId);
  return describePreview(container, runId, status);
}

/**
 * The preview as the admin gets it: queued as a job (POST answered at once), run by this process's worker,
 * its progress written as it goes; timed until the run reads as ready in the database.
 */
export async function previewThroughJob(container: Container, input: { locationId: number; adminId: number }): Promise<Record<string, unknown>> {
  const { syncJobs } = container.services;
  const { runId } = await syncJobs.startPreview(input.locationId, input.adminId);
  for (;;) {
    const progress = await syncJobs.progress(runId);
    if (!['queued', 'previewing'].includes(progress.status)) return describePreview(container, runId, progress.status);
    // Often enough to add little to the time, seldom enough not to load the database it measures.
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function describePreview(container: Container, runId: number, status: string): Promise<Record<string, unknown>> {
  if (status !== 'previewed') {
    const run = await container.repositories.syncRuns.findById(runId);
    throw new Error(`the preview failed: ${run?.error ?? status}`);
  }
  const run = (await container.repositories.syncRuns.findById(runId))!;
  return { runId, counts: runCounts(run) };
}

export async function executePlan(
  container: Container,
  input: { runId: number; locationId: number; adminId: number },
): Promise<Record<string, unknown>> {
  const outcome = await container.services.userSync.execute(input.runId, input.adminId);
  if (outcome.kind !== 'completed') throw new Error(`the execute did not complete: ${outcome.kind}`);
  return { counts: {} };
}

/** The app's own remote client draining every page (login, JSON, validation) and keeping nothing: the
 * part of the preview that is not SQL. */
export async function fetchOnly(container: Container, locationId: number): Promise<Record<string, unknown>> {
  const location = await container.repositories.locations.findById(locationId);
  if (!location) throw new Error(`no location ${locationId}`);
  let users = 0;
  let pages = 0;
  for await (const page of container.services.externalApi.fetchUsers(location)) {
    users += page.users.length;
    pages += 1;
  }
  return { users, pages };
}
