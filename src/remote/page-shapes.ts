import { z } from 'zod';

/** What the client needs from one users page, whichever Laravel shape it came in. */
export interface PageInfo {
  rows: unknown[];
  /** False for a bare array: the whole list in one answer. */
  paginated: boolean;
  currentPage: number | null;
  lastPage: number | null;
  total: number | null;
  /** The next page's URL as the server gave it; null when the server says there is none. */
  nextUrl: string | null;
  /** Only for cursor pagination: undefined when the shape has no cursor at all. */
  nextCursor: string | null | undefined;
}

const count = z.coerce.number().int().nonnegative();
const optionalCount = count.nullish().catch(null);
const link = z.string().min(1).nullish().catch(null);
const cursor = z.string().nullish().catch(null);

// Laravel API resource collection: data + links + meta (length-aware or cursor meta).
const resourceShape = z.object({
  data: z.array(z.unknown()),
  links: z.object({ next: link }).loose(),
  meta: z
    .object({
      current_page: optionalCount,
      last_page: optionalCount,
      total: optionalCount,
      next_cursor: cursor.optional(),
    })
    .loose(),
});

// paginate(), simplePaginate() and cursorPaginate() as returned without a resource wrapper.
const plainShape = z
  .object({
    data: z.array(z.unknown()),
    current_page: optionalCount,
    last_page: optionalCount,
    total: optionalCount,
    next_page_url: link,
    next_cursor: cursor.optional(),
  })
  .loose()
  .refine((body) => 'next_page_url' in body || 'current_page' in body || 'next_cursor' in body);

/** Reads a users page of any shape the contract accepts; undefined when it is none of them. */
export function readPage(body: unknown): PageInfo | undefined {
  if (Array.isArray(body)) {
    return { rows: body, paginated: false, currentPage: null, lastPage: null, total: null, nextUrl: null, nextCursor: undefined };
  }
  const resource = resourceShape.safeParse(body);
  if (resource.success) {
    const { data, links, meta } = resource.data;
    return {
      rows: data,
      paginated: true,
      currentPage: meta.current_page ?? null,
      lastPage: meta.last_page ?? null,
      total: meta.total ?? null,
      nextUrl: links.next ?? null,
      nextCursor: 'next_cursor' in meta ? (meta.next_cursor ?? null) : undefined,
    };
  }
  const plain = plainShape.safeParse(body);
  if (plain.success) {
    const page = plain.data;
    return {
      rows: page.data,
      paginated: true,
      currentPage: page.current_page ?? null,
      lastPage: page.last_page ?? null,
      total: page.total ?? null,
      nextUrl: page.next_page_url ?? null,
      nextCursor: 'next_cursor' in page ? (page.next_cursor ?? null) : undefined,
    };
  }
  return undefined;
}

/** Whether the server says this is the last page (the contract's stop rules, bar the loop and cap checks). */
export function isLastPage(info: PageInfo): boolean {
  if (!info.paginated || info.rows.length === 0) return true;
  if (info.nextCursor === null) return true;
  if (info.currentPage !== null && info.lastPage !== null && info.currentPage >= info.lastPage) return true;
  return info.nextUrl === null;
}
