/** Seeded pseudo-random numbers for the fault suite: the same seed, the same sequence. */

/** mulberry32: a small, well-mixed 32-bit generator; unsigned 32-bit integers. */
export function seededInts(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same generator as numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  const next = seededInts(seed);
  return () => next() / 4294967296;
}
