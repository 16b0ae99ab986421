/**
 * The last minute of an object's call rate, one sample a second, kept in the browser for its
 * sparkline. Pure; unit-tested.
 */

/** Samples kept: one a second for a minute. */
export const SAMPLE_CAPACITY = 60;

/** The samples with `value` appended, the oldest dropped beyond `capacity`. */
export function pushSample(samples: readonly number[], value: number, capacity = SAMPLE_CAPACITY): number[] {
  const next = samples.length >= capacity ? samples.slice(samples.length - capacity + 1) : samples.slice();
  next.push(Number.isFinite(value) ? value : 0);
  return next;
}

export interface SampleStats {
  /** The newest sample (0 without any). */
  latest: number;
  peak: number;
  mean: number;
}

export function sampleStats(samples: readonly number[]): SampleStats {
  if (samples.length === 0) return { latest: 0, peak: 0, mean: 0 };
  let peak = 0;
  let sum = 0;
  for (const v of samples) {
    if (v > peak) peak = v;
    sum += v;
  }
  return { latest: samples.at(-1)!, peak, mean: sum / samples.length };
}
