import { formatViolations, type Violation } from './checker.js';
import { outcomeOf, type History } from './history.js';
import { median, type Recovery } from './recovery.js';

/** The figures every run prints: information beside the assertions, never instead of them. */
export interface Figures {
  label: string;
  nodes: number;
  clients: number;
  objects: number;
  durationMs: number;
  /** Every call but the final reads: workload, bursts and probes. */
  attempted: number;
  acknowledged: number;
  failed: number;
  indeterminate: number;
  /** Error codes of failed and indeterminate calls, with counts. */
  errors: Record<string, number>;
  faults: number;
  violations: number;
  recoveryMedianMs: number | null;
  recoveryMaxMs: number | null;
}

export function figuresOf(
  run: { label: string; nodes: number; clients: number; objects: number; durationMs: number },
  history: History,
  recoveries: readonly Recovery[],
  violations: readonly Violation[],
): Figures {
  const calls = history.ops.filter((op) => op.issuer !== 'final');
  const errors: Record<string, number> = {};
  for (const op of calls) {
    if (outcomeOf(op) === 'ok') continue;
    const code = op.error?.code ?? 'NO_ANSWER';
    errors[code] = (errors[code] ?? 0) + 1;
  }
  const times = recoveries.flatMap((r) => (r.recoveryMs === null ? [] : [r.recoveryMs]));
  const unrecovered = recoveries.some((r) => r.recoveryMs === null);
  return {
    ...run,
    attempted: calls.length,
    acknowledged: calls.filter((op) => outcomeOf(op) === 'ok').length,
    failed: calls.filter((op) => outcomeOf(op) === 'fail').length,
    indeterminate: calls.filter((op) => outcomeOf(op) === 'indeterminate').length,
    errors,
    faults: history.faults.length,
    violations: violations.length,
    recoveryMedianMs: median(times),
    recoveryMaxMs: unrecovered || times.length === 0 ? null : Math.max(...times),
  };
}

const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);

export function formatReport(figures: Figures, recoveries: readonly Recovery[], violations: readonly Violation[], origin: number): string {
  const f = figures;
  const rel = (t: number) => `+${((t - origin) / 1000).toFixed(1)}s`;
  const lines = [
    `── faults: ${f.label} — ${f.nodes} nodes, ${f.clients} clients, ${f.objects} objects, ${(f.durationMs / 1000).toFixed(1)} s`,
    `   attempted ${f.attempted} | acknowledged ${f.acknowledged} | failed ${f.failed} | indeterminate ${f.indeterminate} | faults ${f.faults} | violations ${f.violations}`,
    `   errors: ${Object.entries(f.errors).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ') || 'none'}`,
  ];
  for (const r of recoveries) {
    const unrecovered = r.unrecovered.length > 0 ? ` (never recovered: ${r.unrecovered.join(', ')})` : '';
    lines.push(`   ${rel(r.fault.injectedAt).padStart(7)} ${r.fault.name.padEnd(40)} ${r.fault.detail}`);
    lines.push(`           healed ${rel(r.fault.healedAt)}, ${r.affected.length} objects affected, recovered ${seconds(r.recoveryMs)} after ${r.fault.blocking ? 'healing' : 'injection'}${unrecovered}`);
  }
  lines.push(`   recovery: median ${seconds(f.recoveryMedianMs)}, max ${seconds(f.recoveryMaxMs)}`);
  if (violations.length > 0) lines.push(`   VIOLATIONS:\n${formatViolations(violations).replace(/^/gm, '   ')}`);
  return lines.join('\n');
}

/** One line per run: the suite's figures side by side. */
export function formatSummary(runs: readonly Figures[]): string {
  const header = ['run', 'nodes', 'attempted', 'acked', 'failed', 'indeterminate', 'faults', 'violations', 'recovery median', 'recovery max'];
  const rows = runs.map((f) => [
    f.label, String(f.nodes), String(f.attempted), String(f.acknowledged), String(f.failed), String(f.indeterminate),
    String(f.faults), String(f.violations), seconds(f.recoveryMedianMs), seconds(f.recoveryMaxMs),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return ['── fault suite', line(header), ...rows.map(line)].join('\n');
}
