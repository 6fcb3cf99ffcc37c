/** What the read-ahead needs to know of a fetched page: how many bytes its answer held. */
export interface SizedPage {
  bytes: number;
}

export interface ReadAheadLimits {
  /** Requests at a time. */
  concurrency: number;
  /** Bytes the pages fetched ahead may hold, a request in flight counting as `maxBytes`. */
  budgetBytes: number;
  /** The largest answer one request may bring (REMOTE_MAX_BYTES). */
  maxBytes: number;
}

/**
 * Pages `first`..`last` fetched ahead of their consumer and handed over in page order. What it holds is
 * bounded by construction: a request starts only while the answers held, plus `maxBytes` for each request
 * in flight, stay within the budget; one request always may, so a budget below one answer still moves on.
 * A page counts until its consumer asks for the next one, so the consumer must not ask ahead itself.
 * Requests start as soon as it is made, so they overlap whatever the consumer does first.
 */
export class PageReadAhead<T extends SizedPage> {
  /** Started and not yet handed over, by page number: in flight or held. */
  private readonly started = new Map<number, Promise<T>>();
  private inFlight = 0;
  private heldBytes = 0;
  private nextToStart: number;
  private stopped = false;

  constructor(
    private readonly fetchPage: (page: number) => Promise<T>,
    private readonly range: { first: number; last: number },
    private readonly limits: ReadAheadLimits,
  ) {
    this.nextToStart = range.first;
    this.startMore();
  }

  /** The pages in order; ending early (return or a throw) stops starting new requests. */
  async *pages(): AsyncGenerator<T> {
    try {
      for (let page = this.range.first; page <= this.range.last; page += 1) {
        this.startMore();
        const current = await this.started.get(page)!;
        this.started.delete(page);
        try {
          yield current;
        } finally {
          this.heldBytes -= current.bytes;
        }
      }
    } finally {
      this.stopped = true;
    }
  }

  /** Bytes held by answers in and requests in flight, as the budget counts them. */
  reservedBytes(): number {
    return this.heldBytes + this.inFlight * this.limits.maxBytes;
  }

  private startMore(): void {
    const { concurrency, budgetBytes, maxBytes } = this.limits;
    while (
      !this.stopped &&
      this.nextToStart <= this.range.last &&
      this.inFlight < concurrency &&
      (this.started.size === 0 || this.reservedBytes() + maxBytes <= budgetBytes)
    ) {
      this.start(this.nextToStart);
      this.nextToStart += 1;
    }
  }

  private start(page: number): void {
    this.inFlight += 1;
    const promise = this.fetchPage(page).then(
      (result) => {
        this.inFlight -= 1;
        this.heldBytes += result.bytes;
        this.startMore();
        return result;
      },
      (error: unknown) => {
        this.inFlight -= 1;
        // After a failure the list cannot be used: nothing more is asked for.
        this.stopped = true;
        throw error;
      },
    );
    // A page fetched ahead may fail before its turn; its error is thrown when the page is reached.
    promise.catch(() => undefined);
    this.started.set(page, promise);
  }
}
