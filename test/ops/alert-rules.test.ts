import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RULES_FILE, RULES_TEST_FILE, SCRAPE_EXAMPLE_FILE, alertRules, dashboard, promtool, ruleTestEvaluations, withVariablesResolved,
} from './ops-files.js';

/**
 * The Prometheus alert rules (ops/prometheus/highlander-alerts.yml) and the Grafana dashboard
 * (ops/grafana/highlander.json), checked with Prometheus's own tool, `promtool` (Debian's
 * `prometheus` package): the rules load, their unit tests (synthetic series → each alert firing
 * and staying silent) pass, and every dashboard expression is valid PromQL. That the metrics they
 * name exist is metric-names.test.ts.
 */

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'highlander-promtool-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('alert rules', () => {
  it('load in promtool', async () => {
    const { code, output } = await promtool(['check', 'rules', RULES_FILE]);
    expect(output).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(code).toBe(0);
  });

  it('pass their unit tests: each alert fires on the series that should fire it, and only then', async () => {
    const { code, output } = await promtool(['test', 'rules', RULES_TEST_FILE], dirname(RULES_TEST_FILE));
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(code).toBe(0);
  });

  it('are each tested firing and not firing', () => {
    const evaluations = ruleTestEvaluations();
    for (const { alert } of alertRules()) {
      const mine = evaluations.filter((e) => e.alertname === alert);
      expect({ alert, fires: mine.some((e) => e.fires), silent: mine.some((e) => !e.fires) }).toEqual({ alert, fires: true, silent: true });
    }
    expect(new Set(evaluations.map((e) => e.alertname))).toEqual(new Set(alertRules().map((r) => r.alert)));
  });

  it('cover what an operator must hear about, each with a severity and a summary and a description', () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'HighlanderAdminApiDown', 'HighlanderCallErrorRate', 'HighlanderCallLatencyHigh', 'HighlanderFencedWrites', 'HighlanderLockQueueDeep',
      'HighlanderLockQueueWaiting', 'HighlanderNodeDown', 'HighlanderPersistFailures', 'HighlanderReadLeaseLost', 'HighlanderSessionLost',
      'HighlanderStoreErrors',
    ]);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: ['critical', 'warning'].includes(rule.severity ?? '') }).toEqual({ alert: rule.alert, severity: true });
      expect({ alert: rule.alert, annotations: rule.annotations.sort() }).toEqual({ alert: rule.alert, annotations: ['description', 'summary'] });
    }
    // The error rate counts errors only: declared rejections are the objects' contract, not failures.
    expect(rules.find((r) => r.alert === 'HighlanderCallErrorRate')!.expr).toContain('highlander_calls_total{kind="error"}');
  });

  it('a broken rule is refused by the same check (the check can fail)', async () => {
    const broken = join(scratch, 'broken.yml');
    await writeFile(broken, 'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum by (type (rate(highlander_calls_total[5m]))\n');
    const { code, output } = await promtool(['check', 'rules', broken]);
    expect(code).not.toBe(0);
    expect(output).toMatch(/FAILED|parse error/);
  });

  it('without promtool, the checks fail saying what to install (they are never skipped)', async () => {
    await expect(promtool(['--version'], undefined, { ...process.env, PATH: scratch })).rejects.toThrow(/promtool is not installed: .*prometheus package/);
  });

  it('the example Prometheus configuration is valid', async () => {
    const { code, output } = await promtool(['check', 'config', '--syntax-only', SCRAPE_EXAMPLE_FILE]);
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });
});

describe('Grafana dashboard', () => {
  it('parses, and every panel but the rows queries Prometheus', () => {
    const { title, panels } = dashboard();
    expect(title).toBe('Highlander');
    const charts = panels.filter((p) => p.type !== 'row');
    expect(charts.length).toBeGreaterThan(20);
    for (const panel of charts) expect({ panel: panel.title, queries: panel.exprs.length > 0 && panel.exprs.every((e) => e.length > 0) }).toEqual({ panel: panel.title, queries: true });
    expect(new Set(charts.map((p) => p.title)).size).toBe(charts.length);
  });

  it('shows calls split into ok, rejected (intended) and errors', () => {
    const calls = dashboard().panels.find((p) => p.title === 'Calls/s by outcome')!;
    expect(calls.exprs.map((e) => /kind="(\w+)"/.exec(e)?.[1])).toEqual(['ok', 'rejected', 'error']);
  });

  it('has only valid PromQL (each expression loaded by promtool as a recording rule)', async () => {
    const exprs = dashboard().panels.flatMap((p) => p.exprs).map(withVariablesResolved);
    const file = join(scratch, 'dashboard-exprs.yml');
    await writeFile(file, `groups:\n  - name: dashboard\n    rules:\n${exprs.map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(e)}\n`).join('')}`);
    const { code, output } = await promtool(['check', 'rules', file]);
    expect(output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(code).toBe(0);
  });
});
