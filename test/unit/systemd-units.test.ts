import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UNITS = { 'sinkron.service': 'dist/server.js', 'sinkron-worker.service': 'dist/worker.js' };

/** The unit's settings, `Environment=` split into its variables; a key given twice keeps every value. */
function readUnit(file: string) {
  const settings = new Map<string, string[]>();
  for (const line of fs.readFileSync(path.join(ROOT, 'deploy/systemd', file), 'utf8').split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [key, value] = [match[1]!, match[2]!];
    const [name, variable] = key === 'Environment' ? [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)] : [key, value];
    settings.set(name, [...(settings.get(name) ?? []), variable]);
  }
  return (key: string) => settings.get(key)?.at(-1);
}

const seconds = (value: string | undefined) => Number(/^(\d+)s?$/.exec(value ?? '')?.[1]);

describe.each(Object.entries(UNITS))('deploy/systemd/%s', (file, entry) => {
  const setting = readUnit(file);

  it(`runs node ${entry} in production as its own user, restarted when it fails`, () => {
    expect(setting('ExecStart')).toBe(`/usr/bin/node ${entry}`);
    expect(setting('NODE_ENV')).toBe('production');
    expect(setting('User')).toBe('sinkron');
    expect(setting('Restart')).toBe('on-failure');
  });

  it('gives a stop more time than SHUTDOWN_GRACE_SECONDS, so that systemd never kills a running execute first', () => {
    const grace = seconds(setting('SHUTDOWN_GRACE_SECONDS'));
    expect(grace).toBeGreaterThan(0);
    expect(seconds(setting('TimeoutStopSec'))).toBeGreaterThanOrEqual(grace + 15);
  });

  it('is hardened: no new privileges, a read-only system but for the logs folder, no home, a private /tmp', () => {
    expect(setting('NoNewPrivileges')).toBe('yes');
    expect(setting('ProtectSystem')).toBe('strict');
    expect(setting('ProtectHome')).toBe('yes');
    expect(setting('PrivateTmp')).toBe('yes');
    expect(setting('CapabilityBoundingSet')).toBe('');
    expect(setting('LogsDirectory')).toBe('sinkron');
  });
});
