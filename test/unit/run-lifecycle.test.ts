import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EXECUTABLE_STATUSES,
  FINAL_STATUSES,
  PLANNED_STATUSES,
  RUN_STARTS,
  RUN_STATUSES,
  RUN_TRANSITIONS,
  RUNNING_STATUSES,
  canHappen,
  reachableFrom,
  renderStateDiagram,
} from '../../src/sync/run-lifecycle';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every .ts file under src/, with its text. */
function sources(dir = path.join(ROOT, 'src')): Array<{ file: string; text: string }> {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [{ file: path.relative(ROOT, full), text: fs.readFileSync(full, 'utf8') }] : [];
  });
}

describe('the run lifecycle', () => {
  it('when every status is looked at, then each is reached by a start or an event, and every run can end', () => {
    const starts = Object.values(RUN_STARTS);
    expect(reachableFrom(starts)).toEqual([...RUN_STATUSES]);
    for (const status of RUN_STATUSES) {
      expect(
        reachableFrom([status]).some((s) => FINAL_STATUSES.includes(s)),
        status,
      ).toBe(true);
    }
  });

  it('when the derived lists are read, then they say what pages, jobs and metrics rely on', () => {
    expect(RUNNING_STATUSES).toEqual(['queued', 'previewing', 'executing']);
    expect(EXECUTABLE_STATUSES).toEqual(['previewed']);
    expect(FINAL_STATUSES).toEqual(['no_change', 'completed', 'failed', 'expired', 'discarded', 'superseded', 'cancelled']);
    expect(PLANNED_STATUSES).toEqual(['previewed', 'no_change', 'executing', 'completed', 'expired', 'discarded', 'superseded']);
    expect(canHappen('handOver', 'previewed')).toBe(true);
    expect(canHappen('handOver', 'completed')).toBe(false);
    expect(canHappen('cancel', 'executing')).toBe(false);
  });

  it('when the docs show the lifecycle, then their diagram is the table', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/USER_SYNC_FEATURE.md'), 'utf8');
    const shown = /```mermaid\n(stateDiagram-v2[\s\S]*?)\n```/.exec(doc)?.[1];
    expect(shown).toBe(renderStateDiagram());
    for (const event of Object.keys(RUN_TRANSITIONS)) expect(shown).toContain(`: ${event}`);
  });

  it('when the code writes a run status, then it goes through transition or a start of the table', () => {
    const offenders: string[] = [];
    for (const { file, text } of sources()) {
      // An update that sets status by itself, anywhere but the one transition function.
      for (const match of text.matchAll(/\.update\(\s*\{[^}]*\bstatus\s*:/g)) {
        const line = text.slice(0, match.index).split('\n').length;
        if (!match[0].includes('...columns, status')) offenders.push(`${file}:${line}`);
      }
      // A run inserted with a status written out rather than one of RUN_STARTS.
      for (const match of text.matchAll(/\.insert\(\s*\{[^}]*\bstatus:\s*'/g))
        offenders.push(`${file}:${text.slice(0, match.index).split('\n').length}`);
    }
    expect(offenders).toEqual([]);
  });
});
