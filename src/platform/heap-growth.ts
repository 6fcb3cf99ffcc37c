import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what its last full collection kept, before the next one.
 * V8's own factor (up to four times for a small heap) let a million-user preview carry about 200 MB of
 * remote pages already read and dead, on top of the local index it needs: the process then held twice
 * what was alive (peak RSS 480-550 MB). At 10% the peak stays close to what is alive (about 280 MB), for
 * more collections, which mark concurrently; lower settings cost time and saved nothing more.
 */
export const HEAP_GROWING_PERCENT = 10;

/** Called first by every Sinkron process (server, worker, CLI), before its heap has grown. */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
