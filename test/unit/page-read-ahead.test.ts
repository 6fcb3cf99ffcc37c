import { describe, expect, it } from 'vitest';
import { PageReadAhead } from '../../src/remote/page-read-ahead';

const MB = 1024 * 1024;

/** Pages answered when the test says so, each of `bytes`; records which were asked for. */
function scriptedPages(bytes: (page: number) => number) {
  const asked: number[] = [];
  const answers = new Map<number, () => void>();
  const fetchPage = (page: number) =>
    new Promise<{ page: number; bytes: number }>((resolve) => {
      asked.push(page);
      answers.set(page, () => resolve({ page, bytes: bytes(page) }));
    });
  const answer = async (...pages: number[]) => {
    for (const page of pages) answers.get(page)!();
    // Let the read-ahead see the answers and start what they make room for.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { asked, fetchPage, answer };
}

describe('PageReadAhead', () => {
  it('when the consumer is slow, then requests stop once the answers held and in flight reach the budget', async () => {
    const remote = scriptedPages(() => 3 * MB);
    const ahead = new PageReadAhead(remote.fetchPage, { first: 2, last: 100 }, { concurrency: 4, budgetBytes: 16 * MB, maxBytes: 4 * MB });
    // 4 in flight at 4 MB each: the budget is full before any answer.
    expect(remote.asked).toEqual([2, 3, 4, 5]);
    expect(ahead.reservedBytes()).toBe(16 * MB);

    await remote.answer(2, 3, 4, 5);
    // 12 MB held: one more request (4 MB) fits, a second would not.
    expect(remote.asked).toEqual([2, 3, 4, 5, 6]);
    expect(ahead.reservedBytes()).toBeLessThanOrEqual(16 * MB);

    await remote.answer(6);
    // 15 MB held and nobody has taken a page: nothing more is asked for.
    expect(remote.asked).toHaveLength(5);
    expect(ahead.reservedBytes()).toBe(15 * MB);
  });

  it('when the consumer takes pages, then each frees its bytes as the next is asked for, and the pages come in order', async () => {
    const remote = scriptedPages((page) => (page % 2 === 0 ? 1 * MB : 2 * MB));
    const ahead = new PageReadAhead(remote.fetchPage, { first: 2, last: 7 }, { concurrency: 2, budgetBytes: 6 * MB, maxBytes: 2 * MB });
    const pages = ahead.pages();
    expect(remote.asked).toEqual([2, 3]);
    await remote.answer(3);
    // Page 3 (2 MB) is held out of turn, page 2 in flight (2 MB): one more request fits.
    expect(remote.asked).toEqual([2, 3, 4]);

    const first = pages.next();
    await remote.answer(2);
    expect((await first).value).toEqual({ page: 2, bytes: 1 * MB });

    const seen: number[] = [2];
    while (seen.length < 6) {
      const next = pages.next();
      await remote.answer(...remote.asked.filter((p) => !seen.includes(p)));
      const step = await next;
      seen.push(step.value!.page);
      expect(ahead.reservedBytes()).toBeLessThanOrEqual(6 * MB);
    }
    expect(seen).toEqual([2, 3, 4, 5, 6, 7]);
    expect((await pages.next()).done).toBe(true);
  });

  it('when the budget is smaller than one answer, then it still fetches one page at a time', async () => {
    const remote = scriptedPages(() => MB);
    const ahead = new PageReadAhead(remote.fetchPage, { first: 1, last: 3 }, { concurrency: 4, budgetBytes: MB / 2, maxBytes: MB });
    const pages = ahead.pages();
    expect(remote.asked).toEqual([1]);
    const got: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const next = pages.next();
      await remote.answer(remote.asked.at(-1)!);
      got.push((await next).value!.page);
    }
    expect(got).toEqual([1, 2, 3]);
  });

  it('when a page fails, then nothing more is asked for and the error comes at its turn', async () => {
    const asked: number[] = [];
    const ahead = new PageReadAhead(
      (page) => {
        asked.push(page);
        return page === 3 ? Promise.reject(new Error('page 3 broke')) : Promise.resolve({ page, bytes: 10 });
      },
      { first: 2, last: 50 },
      { concurrency: 2, budgetBytes: 100 * MB, maxBytes: MB },
    );
    const pages = ahead.pages();
    expect((await pages.next()).value).toEqual({ page: 2, bytes: 10 });
    await expect(pages.next()).rejects.toThrow('page 3 broke');
    expect(Math.max(...asked)).toBeLessThan(10);
  });
});
