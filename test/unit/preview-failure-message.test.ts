import { describe, expect, it } from 'vitest';
import { describePreviewFailure } from '../../src/sync/failure-messages';

describe('describePreviewFailure', () => {
  it('names a database error by its SQLSTATE, never by its message (which holds SQL and values)', () => {
    const error = Object.assign(new Error('insert into "sync_run_items" ... secret values'), { code: '23514' });
    const message = describePreviewFailure('DEV', error);
    expect(message).toBe(
      'The preview of DEV failed unexpectedly (database error 23514); nothing was changed. Run the preview again; if it fails again, the log has the details.',
    );
    expect(message).not.toContain('secret');
  });

  it('calls anything else an internal error', () => {
    expect(describePreviewFailure('TEST', new TypeError("Cannot read properties of undefined (reading 'x')"))).toContain(
      'failed unexpectedly (an internal error)',
    );
  });
});
