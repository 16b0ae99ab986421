/**
 * Aligned text tables and human-friendly durations for the CLI's output.
 *
 * ```ts
 * formatTable(['NAME', 'ACTIVATIONS'], [['node-a', 3]], { right: [1] });
 * // NAME    ACTIVATIONS
 * // node-a            3
 * ```
 */

export function formatTable(header: readonly string[], rows: readonly (readonly (string | number)[])[], options: { right?: readonly number[] } = {}): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const right = new Set(options.right ?? []);
  return cells
    .map((row) => row.map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd())
    .join('\n');
}

/** `450 ms`, `12.3 s`, `3m 12s`, `2h 05m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Compact JSON when short, indented (under `indent`) when long. */
export function formatJson(value: unknown, indent: string, maxInline = 100): string {
  const compact = JSON.stringify(value);
  if (compact === undefined) return String(value);
  if (compact.length <= maxInline) return compact;
  return JSON.stringify(value, null, 2).split('\n').join(`\n${indent}`);
}
