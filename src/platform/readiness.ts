export type ReadinessReport = { status: 'ready' } | { status: 'unavailable'; reason: string };

/**
 * Whether this instance should get traffic (`GET /readyz`): its database answers, the schema is one it can
 * run on, its job queue is started, and it is not stopping. `/healthz` says only whether it is alive.
 */
export class Readiness {
  private draining = false;

  constructor(
    private readonly checks: {
      /** Reads the schema; resolves to what is wrong with it, undefined when it fits. Rejects when the database does not answer. */
      schemaMismatch(): Promise<string | undefined>;
      jobQueueStarted(): boolean;
    },
  ) {}

  /** From now on the instance answers 503: it is stopping, and the load balancer should send its requests elsewhere. */
  drain(): void {
    this.draining = true;
  }

  async check(): Promise<ReadinessReport> {
    if (this.draining) return { status: 'unavailable', reason: 'stopping' };
    if (!this.checks.jobQueueStarted()) return { status: 'unavailable', reason: 'the job queue is not started' };
    let mismatch: string | undefined;
    try {
      mismatch = await this.checks.schemaMismatch();
    } catch {
      return { status: 'unavailable', reason: 'the database does not answer' };
    }
    if (mismatch) return { status: 'unavailable', reason: mismatch };
    // A stop that began while the database was read.
    if (this.draining) return { status: 'unavailable', reason: 'stopping' };
    return { status: 'ready' };
  }
}
