import dotenv from 'dotenv';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config';

const ROOT = path.resolve(import.meta.dirname, '../..');
const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');

/** The variable names of the zod schema in src/platform/config.ts (its keys are the two-space-indented lines). */
function schemaVariables(): string[] {
  const source = fs.readFileSync(path.join(ROOT, 'src/platform/config.ts'), 'utf8');
  const block = /const envSchema = z\.object\(\{\n([\s\S]*?)\n\}\);/.exec(source)?.[1] ?? '';
  return [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]!);
}

describe('.env.example', () => {
  it('lists and explains every variable the configuration reads', () => {
    const variables = schemaVariables();
    expect(variables.length).toBeGreaterThan(30);
    const listed = Object.keys(dotenv.parse(example));
    expect(variables.filter((name) => !listed.includes(name))).toEqual([]);
    // Each one has a comment above it (or shares the comment of the variable before it).
    for (const name of variables) expect(example).toMatch(new RegExp(`#[^\\n]*\\n(?:[A-Z_]+=[^\\n]*\\n)*${name}=`));
  });

  it('documents the per-location remote credentials', () => {
    expect(example).toContain('EXTERNAL_API_<CODE>_EMAIL');
    expect(example).toContain('EXTERNAL_API_<CODE>_PASSWORD');
  });

  it('is a valid configuration when copied to .env as it is', () => {
    const config = loadConfig(dotenv.parse(example));
    expect(config.database.url).toBeUndefined();
    expect(config.demo).toBe(true);
    expect(config.remote.credentials['*']?.email).toBe('api@sinkron.demo');
  });
});
