import { describe, expect, it } from 'vitest';
import { isLastPage, readPage } from '../../src/remote/page-shapes';

const rows = [{ email: 'a@x.test' }, { email: 'b@x.test' }];

describe('readPage (the users page shapes of the remote API contract)', () => {
  it('reads a bare array as the whole list in one answer', () => {
    const page = readPage(rows)!;
    expect(page).toMatchObject({ rows, paginated: false, nextUrl: null, nextCursor: undefined });
    expect(isLastPage(page)).toBe(true);
  });

  it('reads an API resource collection (data, links, meta) with its counts and next link', () => {
    const page = readPage({
      data: rows,
      links: { next: 'http://remote.test/api/users?page=2' },
      meta: { current_page: '1', last_page: 3, total: 6 },
    })!;
    expect(page).toEqual({
      rows,
      paginated: true,
      currentPage: 1,
      lastPage: 3,
      total: 6,
      nextUrl: 'http://remote.test/api/users?page=2',
      nextCursor: undefined,
    });
    expect(isLastPage(page)).toBe(false);
  });

  it('reads paginate() and simplePaginate() bodies, and stops at the last page or without a next URL', () => {
    const paginate = readPage({ data: rows, current_page: 3, last_page: 3, total: 6, next_page_url: 'http://remote.test/?page=4' })!;
    expect(paginate).toMatchObject({ currentPage: 3, lastPage: 3, total: 6 });
    expect(isLastPage(paginate)).toBe(true);
    const simple = readPage({ data: rows, current_page: 2, next_page_url: null })!;
    expect(simple).toMatchObject({ currentPage: 2, lastPage: null, total: null, nextUrl: null });
    expect(isLastPage(simple)).toBe(true);
  });

  it('reads cursorPaginate(): a null next_cursor is the end, a missing one means no cursor at all', () => {
    const middle = readPage({ data: rows, next_cursor: 'abc', next_page_url: 'http://remote.test/?cursor=abc' })!;
    expect(middle.nextCursor).toBe('abc');
    expect(isLastPage(middle)).toBe(false);
    const end = readPage({ data: rows, next_cursor: null, next_page_url: 'http://remote.test/?cursor=zzz' })!;
    expect(end.nextCursor).toBeNull();
    expect(isLastPage(end)).toBe(true);
  });

  it('reads broken counts and links as unknown instead of failing the page', () => {
    const page = readPage({ data: rows, links: { next: '' }, meta: { current_page: -1, last_page: 'many', total: null } })!;
    expect(page).toMatchObject({ currentPage: null, lastPage: null, total: null, nextUrl: null });
  });

  it('treats an empty page as the last one', () => {
    expect(isLastPage(readPage({ data: [], current_page: 1, last_page: 9, next_page_url: 'http://remote.test/?page=2' })!)).toBe(true);
  });

  it('refuses bodies of no known shape', () => {
    for (const body of [null, 'users', 42, {}, { data: 'x' }, { users: rows }, { data: rows }])
      expect(readPage(body), JSON.stringify(body)).toBeUndefined();
  });
});
