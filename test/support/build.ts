import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * `npm run build` in the project (or a copy of it): dist/ as production runs it. Safe beside a running
 * build or process, as the build replaces each file whole.
 */
export async function buildDist(cwd = ROOT): Promise<void> {
  await promisify(execFile)(process.execPath, ['build.js'], { cwd });
}
