import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DOCS = ['README.md', 'docs/USER_SYNC_FEATURE.md', 'DEPLOYMENT_INSTRUCTIONS.md', 'docs/sync-performance.md', 'docs/id/PANDUAN_ADMIN.md'];
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);

describe.each(DOCS)('%s', (doc) => {
  const text = read(doc);

  it('links only to files that exist', () => {
    const targets = [...text.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
    expect(targets.length).toBeGreaterThan(0);
    const missing = targets.filter((target) => !fs.existsSync(path.join(ROOT, path.dirname(doc), target)));
    expect(missing).toEqual([]);
  });

  it('names only source paths that exist', () => {
    const named = [...text.matchAll(/\b((?:src|test|bench)\/[A-Za-z0-9_./-]*[A-Za-z0-9_/])/g)].map((m) => m[1]!);
    expect(named.filter((file) => !fs.existsSync(path.join(ROOT, file)))).toEqual([]);
  });

  it('names only npm scripts that exist', () => {
    const named = [...text.matchAll(/npm run ([a-z0-9:-]+)/g)].map((m) => m[1]!);
    expect(named.filter((name) => !scripts.includes(name))).toEqual([]);
  });
});

describe('README.md', () => {
  it('starts with the two commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? '';
    expect(
      firstBlock
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('#')[0]!.trim()),
    ).toEqual(['npm ci && npm start', 'npm ci && npm test']);
    expect(read('README.md').indexOf('```sh')).toBeLessThan(read('README.md').indexOf('Sinkron keeps'));
  });
});
