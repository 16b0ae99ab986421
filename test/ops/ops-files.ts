import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * What the tests of ops/ read from its files: the alert rules and their promtool unit tests
 * (ops/prometheus/), the Grafana dashboard (ops/grafana/), and promtool itself.
 */

export const RULES_FILE = fileURLToPath(new URL('../../ops/prometheus/highlander-alerts.yml', import.meta.url));
export const RULES_TEST_FILE = fileURLToPath(new URL('../../ops/prometheus/highlander-alerts.test.yml', import.meta.url));
export const SCRAPE_EXAMPLE_FILE = fileURLToPath(new URL('../../ops/prometheus/prometheus.example.yml', import.meta.url));
export const DASHBOARD_FILE = fileURLToPath(new URL('../../ops/grafana/highlander.json', import.meta.url));

export interface AlertRule {
  alert: string;
  expr: string;
  severity: string | undefined;
  annotations: string[];
}

/**
 * The alert rules of ops/prometheus/highlander-alerts.yml, read by their layout (every rule a `- alert:`
 * item with `expr`, `labels` and `annotations`); `promtool check rules` is what checks the YAML itself.
 */
export function alertRules(): AlertRule[] {
  const text = readFileSync(RULES_FILE, 'utf8');
  return text.split(/^ {6}- alert: /m).slice(1).map((block) => {
    const alert = block.slice(0, block.indexOf('\n')).trim();
    const expr = /^ {8}expr: (?:>-\n)?([\s\S]*?)^ {8}\w/m.exec(block)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
    const severity = /^ {10}severity: (\S+)$/m.exec(block)?.[1];
    const annotations = [...(/^ {8}annotations:\n((?: {10}.*\n?)*)/m.exec(block)?.[1] ?? '').matchAll(/^ {10}(\w+):/gm)].map((m) => m[1]!);
    return { alert, expr, severity, annotations };
  });
}

/** The promtool unit tests' evaluations: which alert, and whether it is expected to fire. */
export function ruleTestEvaluations(): Array<{ alertname: string; fires: boolean }> {
  const text = readFileSync(RULES_TEST_FILE, 'utf8');
  return text.split(/^ {2}- eval_time: /m).slice(1).map((block) => ({
    alertname: /^ {4}alertname: (\S+)$/m.exec(block)?.[1] ?? '',
    fires: !/^ {4}exp_alerts: \[\]$/m.test(block),
  }));
}

export interface DashboardPanel {
  title: string;
  type: string;
  exprs: string[];
}

interface GrafanaPanel {
  title?: unknown;
  type?: unknown;
  targets?: Array<{ expr?: unknown }>;
  panels?: GrafanaPanel[];
}

/** The Grafana dashboard, parsed: its panels (rows' nested ones included) and its variables' queries. */
export function dashboard(): { title: string; panels: DashboardPanel[]; variableQueries: string[] } {
  const json = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    title: string; panels: GrafanaPanel[]; templating: { list: Array<{ type: string; definition?: string }> };
  };
  const flat = json.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return {
    title: json.title,
    panels: flat.map((p) => ({
      title: String(p.title),
      type: String(p.type),
      exprs: (p.targets ?? []).map((t) => (typeof t.expr === 'string' ? t.expr : '')),
    })),
    variableQueries: json.templating.list.filter((v) => v.type === 'query').map((v) => v.definition ?? ''),
  };
}

/** A dashboard expression with Grafana's variables replaced the way Grafana would, so that Prometheus can parse it. */
export function withVariablesResolved(expr: string): string {
  return expr.replace(/\$__rate_interval/g, '1m').replace(/\$(node_job|admin_job|node|type)\b/g, '.*');
}

/**
 * The metric names an expression reads: every identifier that stands where a metric name may
 * (before a `{`, a `[`, a `)` or a space, not a function's name before `(`, not a label name before
 * `=`, not inside quotes or the `by (…)`/`on (…)` label lists).
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '{}') // label matchers
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\[[^\]]*\]/g, '[]'); // ranges
  const names = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice(m.index! + m[0].length).trimStart();
    if (after.startsWith('(')) continue; // a function or an aggregation
    if (PROMQL_WORDS.has(m[0])) continue;
    if (/^(?:Inf|NaN)$/i.test(m[0])) continue;
    names.add(m[0]);
  }
  return [...names];
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

/** Runs promtool; fails with what to install when it is missing (it is never skipped). */
export function promtool(args: string[], cwd?: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile('promtool', args, { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('promtool is not installed: it comes with Debian\'s prometheus package (apt-get install prometheus; scripts/install-system-deps.sh installs it)'));
        return;
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
