import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cyclesOf, importGraph, importsOf, listFiles } from '../support/import-graph';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');
const sources = listFiles(SRC, '.ts');
const relative = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

/** The database drivers: only data files speak to the database. */
const DATABASE_PACKAGES = /^(knex|pg|pg-copy-streams|connect-pg-simple)(\/|$)/;
const MAY_IMPORT_DATABASE = [/^src\/[^/]+\/data\//, /\.queries\.ts$/, /^src\/platform\/db\//];

describe('the source tree', () => {
  it('imports knex or pg only in data files (src/*/data/**, *.queries.ts) and src/platform/db/**', () => {
    const importers = sources.filter((file) => importsOf(fs.readFileSync(file, 'utf8')).some((i) => DATABASE_PACKAGES.test(i.specifier)));
    expect(importers.length).toBeGreaterThan(0);
    const outside = importers.map(relative).filter((file) => !MAY_IMPORT_DATABASE.some((allowed) => allowed.test(file)));
    expect(outside).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    const graph = importGraph(sources);
    expect([...graph.values()].flat().length).toBeGreaterThan(sources.length);
    expect(cyclesOf(graph).map((cycle) => cycle.map(relative))).toEqual([]);
  });

  it.each(['src', 'test', 'bench', 'views', 'public'])('names every file in %s/ in kebab-case', (dir) => {
    const names = fs
      .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      // test/peers/ holds third-party apps (a Laravel app) under their own conventions.
      .filter((f) => !(dir === 'test' && f.split(path.sep)[0] === 'peers'))
      .map((f) => path.basename(f));
    // Words of lower-case letters and digits joined by '-', parts (role, extension) joined by '.'; EJS partials start with '_'.
    const kebab = /^_?[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$|^[a-z0-9]+(-[a-z0-9]+)*$/;
    expect(names.filter((name) => !kebab.test(name))).toEqual([]);
  });
});

describe('the import graph check', () => {
  it('reads static, type-only, re-exported and dynamic imports', () => {
    const source = [
      "import a from './a';",
      "import type { B } from './b';",
      "import {\n  c,\n  type C,\n} from './c';",
      "export { d } from './d';",
      "import './e';",
      "const f = await import('./f');",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: './a', typeOnly: false },
      { specifier: './b', typeOnly: true },
      { specifier: './c', typeOnly: false },
      { specifier: './d', typeOnly: false },
      { specifier: './e', typeOnly: false },
      { specifier: './f', typeOnly: false },
    ]);
  });

  it('finds a cycle through three files and a file importing itself, and none in a chain', () => {
    const cycle = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['d']],
      ['e', ['a']],
    ]);
    expect(cyclesOf(cycle)).toEqual([['a', 'b', 'c'], ['d']]);
    expect(
      cyclesOf(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });
});
