import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('runs in development with defaults, warning about the default secrets', () => {
    const config = loadConfig({});
    expect(config.http.port).toBe(3000);
    expect(config.appLocation.code).toBe('LOCAL');
    expect(config.demo).toBe(true);
    expect(config.warnings).toEqual(['SESSION_SECRET is not set: using a development default', 'JWT_SECRET is not set: using a development default']);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({ PORT: 'eighty', DATABASE_URL: 'mysql://x', SYNC_DEACTIVATE_GUARD_PERCENT: '150' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'DATABASE_URL', 'SYNC_DEACTIVATE_GUARD_PERCENT']);
  });

  it('requires the secrets in production', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://u:p@db.internal:5432/sinkron' };
    expect(problemsOf(production).map((p) => p.split(';')[0])).toEqual([
      'SESSION_SECRET: required when NODE_ENV=production',
      'JWT_SECRET: required when NODE_ENV=production',
    ]);
    expect(problemsOf({ ...production, SESSION_SECRET: 'short', JWT_SECRET: 'x'.repeat(40) })).toEqual([
      'SESSION_SECRET: must be at least 32 characters',
    ]);
  });

  it('refuses production on the embedded database unless EMBEDDED_DB_IN_PRODUCTION says it is a single-machine install', () => {
    const secrets = { SESSION_SECRET: 's'.repeat(40), JWT_SECRET: 'j'.repeat(40) };
    const refused = problemsOf({ NODE_ENV: 'production', ...secrets });
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(
      /^DATABASE_URL: required when NODE_ENV=production; set it to your PostgreSQL server, or set EMBEDDED_DB_IN_PRODUCTION=1/,
    );
    expect(refused[0]).toContain('single-machine');
    // Every problem at once: the database and the secrets.
    expect(problemsOf({ NODE_ENV: 'production' }).map((p) => p.split(':')[0])).toEqual(['DATABASE_URL', 'SESSION_SECRET', 'JWT_SECRET']);
    expect(problemsOf({ NODE_ENV: 'production', EMBEDDED_DB_IN_PRODUCTION: '0', ...secrets })).toEqual(refused);

    const allowed = loadConfig({ NODE_ENV: 'production', EMBEDDED_DB_IN_PRODUCTION: '1', ...secrets });
    expect(allowed.database.url).toBeUndefined();
    expect(allowed.demo).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', EMBEDDED_DB_IN_PRODUCTION: 'yes', ...secrets }).isProduction).toBe(true);
    expect(problemsOf({ NODE_ENV: 'production', EMBEDDED_DB_IN_PRODUCTION: 'maybe', ...secrets }).map((p) => p.split(':')[0])).toEqual([
      'EMBEDDED_DB_IN_PRODUCTION',
    ]);
    // Outside production, and with a database of one's own, the flag is not needed.
    expect(problemsOf({ NODE_ENV: 'production', DATABASE_URL: 'postgres://u:p@db.internal:5432/sinkron', ...secrets })).toEqual([]);
    expect(problemsOf({})).toEqual([]);
  });

  it('refuses missing or public default secrets with a real database or a non-loopback address, saying how to make one (M2)', () => {
    const database = { DATABASE_URL: 'postgres://u:p@db.internal:5432/sinkron' };
    const secrets = { SESSION_SECRET: 's'.repeat(40), JWT_SECRET: 'j'.repeat(40) };
    const missing = problemsOf(database);
    expect(missing.map((p) => p.split(';')[0])).toEqual([
      'SESSION_SECRET: required when DATABASE_URL is set',
      'JWT_SECRET: required when DATABASE_URL is set',
    ]);
    for (const problem of missing) expect(problem).toContain('openssl rand -base64 48');
    expect(problemsOf({ HOST: '0.0.0.0' }).map((p) => p.split(';')[0])).toEqual([
      'SESSION_SECRET: required when HOST 0.0.0.0 is not a loopback address',
      'JWT_SECRET: required when HOST 0.0.0.0 is not a loopback address',
    ]);
    expect(problemsOf({ HOST: '::', SESSION_SECRET: secrets.SESSION_SECRET })).toHaveLength(1);
    // The defaults are in the source tree: set by hand, they are refused all the same.
    const publicDefaults = {
      SESSION_SECRET: 'dev-only-session-secret-change-me-0123456789',
      JWT_SECRET: 'dev-only-jwt-secret-change-me-0123456789abcdef',
    };
    expect(problemsOf({ ...database, ...publicDefaults }).map((p) => p.split(';')[0])).toEqual([
      'SESSION_SECRET: the development default is public',
      'JWT_SECRET: the development default is public',
    ]);
    expect(problemsOf({ ...database, ...secrets })).toEqual([]);
    expect(problemsOf({ HOST: '0.0.0.0', ...secrets })).toEqual([]);
    // The embedded demo on a loopback address keeps its defaults.
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) expect(problemsOf({ HOST: host })).toEqual([]);
  });

  it('reads PUBLIC_URL as an origin and a path prefix without the trailing slash, and refuses anything else, naming it', () => {
    expect(loadConfig({}).api.publicUrl).toBeUndefined();
    expect(loadConfig({ PUBLIC_URL: ' ' }).api.publicUrl).toBeUndefined();
    expect(loadConfig({ PUBLIC_URL: 'https://sinkron.example.com' }).api.publicUrl).toBe('https://sinkron.example.com');
    expect(loadConfig({ PUBLIC_URL: 'https://sinkron.example.com/' }).api.publicUrl).toBe('https://sinkron.example.com');
    expect(loadConfig({ PUBLIC_URL: 'http://10.0.0.5:8080/tools/sinkron/' }).api.publicUrl).toBe('http://10.0.0.5:8080/tools/sinkron');
    for (const bad of [
      'sinkron.example.com',
      '/sinkron',
      'ftp://sinkron.example.com',
      'javascript:alert(1)',
      'https://sinkron.example.com/?x=1',
      'https://u:p@sinkron.example.com',
    ]) {
      expect(
        problemsOf({ PUBLIC_URL: bad }).map((p) => p.split(':')[0]),
        bad,
      ).toEqual(['PUBLIC_URL']);
    }
  });

  it('reads remote credentials with per-location overrides by upper-case code', () => {
    const config = loadConfig({
      EXTERNAL_API_EMAIL: 'api@hub',
      EXTERNAL_API_PASSWORD: 'shared-pw',
      EXTERNAL_API_PROD_PASSWORD: 'prod-pw',
      EXTERNAL_API_TEST_EMAIL: 'test-api@hub',
      EXTERNAL_API_TEST_PASSWORD: 'test-pw',
    });
    expect(config.remote.credentials).toEqual({
      '*': { email: 'api@hub', password: 'shared-pw' },
      PROD: { email: 'api@hub', password: 'prod-pw' },
      TEST: { email: 'test-api@hub', password: 'test-pw' },
    });
  });

  it('names the session cookie after the instance location, so instances on one host keep their sign-ins apart', () => {
    expect(loadConfig({}).session.cookieName).toBe('sinkron.sid');
    expect(loadConfig({ APP_LOCATION_CODE: 'dev' }).session.cookieName).toBe('sinkron.dev.sid');
  });

  it('turns the demo off when a database URL is given, and on with DEMO=1', () => {
    const secrets = { SESSION_SECRET: 's'.repeat(40), JWT_SECRET: 'j'.repeat(40) };
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/sinkron', ...secrets }).demo).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db.internal:5432/sinkron', DEMO: '1', ...secrets }).demo).toBe(true);
    expect(loadConfig({ DEMO: '0' }).demo).toBe(false);
  });
});
