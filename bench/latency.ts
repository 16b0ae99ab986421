/** Latency distributions for the benchmarks that report percentiles. */

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** p50, p99 and max of `values` (NaN when empty). */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
