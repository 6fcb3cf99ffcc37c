import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what its last full collection kept, while a large piece of
 * work runs. V8's own factor (up to four times for a small heap) let a million-user preview carry about
 * 200 MB of remote pages already read and dead, on top of the local index it needs: the process held
 * twice what was alive (peak RSS 480-550 MB). At 10% the peak stays close to what is alive (about 280 MB),
 * for more collections, which mark concurrently; lower settings cost time and saved nothing more.
 *
 * Only while such work runs: a process whose heap is small (serving /api/users, fetching a list) ran
 * 30-60% more CPU under the limit, collecting a few megabytes at a time.
 */
export const HEAP_GROWING_PERCENT = 10;

// The setting is the process's (V8 has one heap), so the count of works holding it is too: the limit
// ends when the last one does, whichever container started it.
let holders = 0;

/** Runs `work` with the heap's growth limited (see HEAP_GROWING_PERCENT); V8's own factor comes back after. */
export async function withLimitedHeapGrowth<T>(work: () => Promise<T>): Promise<T> {
  if (holders++ === 0) v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  try {
    return await work();
  } finally {
    // 0 is V8's default: its own, size-dependent factor.
    if (--holders === 0) v8.setFlagsFromString('--heap-growing-percent=0');
  }
}
