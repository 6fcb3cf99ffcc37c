import { describe, expect, it } from 'vitest';
import { pageUrlFor } from '../../src/platform/http/params';

describe('pageUrlFor', () => {
  it('keeps the filters in order, leaves empty ones out, and adds the page', () => {
    const pageUrl = pageUrlFor('/admin/users', { location: 'DEV', status: undefined, q: 'a&b c' });
    expect(pageUrl(3)).toBe('/admin/users?location=DEV&q=a%26b+c&page=3');
  });
});
