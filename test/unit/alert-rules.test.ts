import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerRemoteMetrics } from '../../src/remote/remote.metrics';
import { registerSyncMetrics } from '../../src/sync/sync.metrics';

const DIR = path.resolve(import.meta.dirname, '../../docs/prometheus');
const RULES = path.join(DIR, 'sinkron-alerts.yml');

interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const rules = (parse(fs.readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);

/** The names of the metrics the app registers (queries are never called: nothing is scraped here). */
function appMetricNames(): string[] {
  const registry = new Registry();
  const never = () => Promise.reject(new Error('not scraped'));
  registerSyncMetrics(registry, { runsByStatus: never, syncTimes: never, latestPlans: never });
  registerRemoteMetrics(registry, never);
  return registry.getMetricsAsArray().map((metric) => metric.name);
}

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('the example alert rules (docs/prometheus)', () => {
  it('alert on the six conditions the deployment guide names, each with a severity and words for the on-call', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'SinkronInstanceDown',
      'SinkronNoSuccessfulSync',
      'SinkronPreviewTrippedGuard',
      'SinkronRemoteFailures',
      'SinkronDriftAboveGuard',
      'SinkronSyncRunsFailed',
    ]);
    for (const rule of rules) {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      // An instance that is down says which instance; every other alert is about a location.
      expect(rule.annotations.summary).toContain(rule.alert === 'SinkronInstanceDown' ? '{{ $labels.instance }}' : '{{ $labels.location }}');
      expect(rule.annotations.description.length).toBeGreaterThan(40);
    }
  });

  it("use only metrics the app exports (and Prometheus's own up, for the scrape job)", () => {
    const exported = appMetricNames();
    for (const rule of rules) {
      const used = [...rule.expr.matchAll(/\b(sinkron_[a-z_]+)/g)].map((m) => m[1]!);
      if (rule.alert === 'SinkronInstanceDown') {
        expect(rule.expr).toBe('up{job="sinkron"} == 0');
        continue;
      }
      expect(used.length, rule.alert).toBeGreaterThan(0);
      for (const name of used) expect(exported, `${rule.alert} uses ${name}`).toContain(name);
    }
  });

  it('find the series they rise from: before any failure the app reports each location at 0', async () => {
    const registry = new Registry();
    const none = () => Promise.resolve([]);
    const times = () => Promise.resolve([{ location: 'DEV', lastSuccess: null, lastDriftCheck: null }]);
    registerSyncMetrics(registry, { runsByStatus: none, syncTimes: times, latestPlans: none });
    registerRemoteMetrics(registry, () => Promise.resolve(['DEV']));
    const page = await registry.metrics();
    expect(page).toContain('sinkron_remote_request_failures_total{location="DEV",cause="auth"} 0');
    expect(page).toContain('sinkron_remote_request_failures_total{location="DEV",cause="timeout"} 0');
    expect(page).toContain('sinkron_sync_runs{location="DEV",run_type="sync",status="failed"} 0');
  });

  // CI installs Debian's prometheus package for promtool; elsewhere the checks above still run.
  it('pass promtool check rules and promtool test rules (each alert fires when it should, and only then)', () => {
    if (!promtool) {
      expect(process.env.CI, 'CI must have promtool (apt-get install prometheus)').toBeFalsy();
      return;
    }
    expect(execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' })).toContain('SUCCESS: 6 rules found');
    expect(execFileSync('promtool', ['test', 'rules', 'sinkron-alerts.test.yml'], { cwd: DIR, encoding: 'utf8' })).toContain('SUCCESS');
  });
});
