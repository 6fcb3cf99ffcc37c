/**
 * When the preview plans the rows staged so far. Each stretch costs a statement, and a stretch planned
 * while later pages are fetched costs no waiting: short stretches overlap best, long ones cost fewer
 * statements. Stretches start short and grow when the database rather than the fetch is the bottleneck:
 * when most remote rows change (a first sync adds every user), or when the list is long.
 */
export class PlanPacer {
  static readonly FIRST_STRETCH_ROWS = 1000;
  static readonly LONGEST_STRETCH_ROWS = 16_000;
  /** A long list is planned in about this many stretches at least, not one per thousand rows. */
  private static readonly STRETCHES_PER_LIST = 16;

  private stretch = PlanPacer.FIRST_STRETCH_ROWS;
  private unplanned = 0;
  private staged = 0;
  private plannedUpTo = 0;

  /** Records that a page staged `stagedRows` rows; true when it is time to plan. */
  add(stagedRows: number): boolean {
    this.unplanned += stagedRows;
    this.staged += stagedRows;
    return this.unplanned >= this.stretch;
  }

  /** Records that every row before `received` is planned, and sizes the next stretch. */
  planned(received: number): void {
    const mostRowsChanged = this.unplanned * 2 > received - this.plannedUpTo;
    const forLongList = Math.floor(this.staged / PlanPacer.STRETCHES_PER_LIST);
    this.stretch = Math.min(PlanPacer.LONGEST_STRETCH_ROWS, Math.max(mostRowsChanged ? this.stretch * 2 : this.stretch, forLongList));
    this.unplanned = 0;
    this.plannedUpTo = received;
  }
}
