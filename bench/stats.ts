/** Medians, a rate of work, and number formatting for benchmark output. */
import { performance } from 'node:perf_hooks';

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `1,234,567` for large numbers, three significant digits below 100. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

/** A ratio as `0.42x` / `12.3x`. */
export function formatRatio(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
}

/** Bytes as `1,234 B` (per-object figures are small: no unit scaling). */
export function formatBytes(value: number): string {
  return `${Math.round(value).toLocaleString('en-US')} B`;
}

export function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Runs `work` (given its iteration) for `durationMs`; iterations per second. */
export function rate(work: (i: number) => number, durationMs: number): { perSecond: number; count: number } {
  const started = performance.now();
  let i = 0;
  let sink = 0;
  let elapsed = 0;
  do {
    sink += work(i++);
    elapsed = performance.now() - started;
  } while (elapsed < durationMs);
  if (sink < 0) throw new Error('unreachable');
  return { perSecond: (i / elapsed) * 1000, count: i };
}

/** `work` against `baselineWork`, each warmed up for `warmupMs` and then run for `durationMs` (see {@link rate}). */
export function rates(work: (i: number) => number, baselineWork: (i: number) => number, warmupMs: number, durationMs: number): { figure: ReturnType<typeof rate>; baseline: ReturnType<typeof rate> } {
  rate(work, warmupMs);
  const figure = rate(work, durationMs);
  rate(baselineWork, warmupMs);
  const baseline = rate(baselineWork, durationMs);
  return { figure, baseline };
}
