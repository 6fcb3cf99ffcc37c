// @ts-check
/**
 * `npm run build`: the entry points (the server, the worker, the CLIs) bundled as ES modules into dist/,
 * so that production runs `node dist/server.js` with no loader. Packages are not bundled: they load from
 * node_modules as they would from src/. dist/ and its chunks lie one folder below the project like src/,
 * so what the code finds from its own folder (views/, public/) is found from there too.
 *
 * With `--unless-production`, the way `npm start` and the CLIs' npm scripts call it, a production install
 * (`npm ci --omit=dev`: no esbuild) runs the dist/ built before instead of failing.
 */
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const ROOT = import.meta.dirname;
const ENTRY_POINTS = ['src/server.ts', 'src/worker.ts', 'src/cli/sync.ts', 'src/cli/migrate.ts', 'src/cli/create-admin.ts'];
const outputOf = (entry) => path.join(ROOT, 'dist', path.relative('src', entry).replace(/\.ts$/, '.js'));

/** @type {typeof import('esbuild') | undefined} */
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (error) {
  if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'ERR_MODULE_NOT_FOUND') throw error;
}

if (!esbuild) {
  const missing = ENTRY_POINTS.map(outputOf).filter((file) => !fs.existsSync(file));
  if (process.argv.includes('--unless-production') && missing.length === 0) process.exit(0);
  process.stderr.write(
    missing.length > 0
      ? `dist/ is not built (${path.relative(ROOT, missing[0] ?? '')} is missing) and esbuild is not installed here: ` +
          'build where the dev dependencies are (npm ci && npm run build), then install for production (npm ci --omit=dev)\n'
      : 'esbuild is not installed here (npm ci --omit=dev): build where the dev dependencies are (npm ci && npm run build)\n',
  );
  process.exit(1);
}

const result = await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ENTRY_POINTS,
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  // Code the entry points share, and what a CLI imports only to run a command, in chunks of their own.
  splitting: true,
  target: 'node20.19',
  // Stack traces name src/ files under `node --enable-source-maps`; the sources themselves stay in src/.
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
  write: false,
});

// Each file written aside and renamed over the old one: a process starting meanwhile (a CLI beside a
// running `npm start`, which builds too) reads the old bundle or the new one, never half of one.
for (const file of result.outputFiles) {
  fs.mkdirSync(path.dirname(file.path), { recursive: true });
  const aside = `${file.path}.${process.pid}.tmp`;
  fs.writeFileSync(aside, file.contents);
  fs.renameSync(aside, file.path);
}

// Chunks are named after their content: those of an earlier source are no longer imported by anything.
const written = new Set(result.outputFiles.map((file) => file.path));
for (const name of fs.readdirSync(path.join(ROOT, 'dist'))) {
  const file = path.join(ROOT, 'dist', name);
  if (/\.js(\.map)?$/.test(name) && !written.has(file)) fs.rmSync(file, { force: true });
}
