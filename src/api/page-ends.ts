import type { PageSeek } from './users-page.queries';

/** How far back a page looks for the end of an earlier page: a client asks for a few pages at a time. */
const LOOK_BACK_PAGES = 64;
/** Enough for a million users at 50 a page; past it the list starts again (seeks are a shortcut, never needed). */
const MAX_REMEMBERED = 20_000;

/**
 * The last user id of the pages served lately, per page size, for one set of the location's users (its
 * generation). A client reads pages in order, a few at a time, so the page it asks for next is usually
 * a few pages past one already served: the page query then seeks to that page's end and skips the few
 * pages between, instead of walking every earlier user. The generation is checked again by the query
 * itself, so a remembered end that went stale is never used.
 */
export class PageEnds {
  private generation: string | null = null;
  private readonly ends = new Map<string, number>();

  seekFor(perPage: number, page: number): PageSeek | undefined {
    if (this.generation === null) return undefined;
    for (let earlier = page - 1; earlier >= 1 && earlier >= page - LOOK_BACK_PAGES; earlier -= 1) {
      const afterId = this.ends.get(`${perPage}:${earlier}`);
      if (afterId !== undefined) return { generation: this.generation, afterId, skip: (page - 1 - earlier) * perPage };
    }
    return undefined;
  }

  remember(generation: string | null, perPage: number, page: number, lastId: number | null): void {
    if (generation !== this.generation || this.ends.size >= MAX_REMEMBERED) {
      this.ends.clear();
      this.generation = generation;
    }
    if (generation !== null && lastId !== null) this.ends.set(`${perPage}:${page}`, lastId);
  }
}
