/**
 * Runs `task` over `items` with at most `concurrency` in flight, in order of the items; resolves
 * when all are done. A task that throws rejects the whole run (the others already started still
 * run to their end); catch inside `task` to go on past failures.
 *
 * ```ts
 * await forEachBounded(activations, 16, (a) => a.deactivate('drained'));
 * ```
 */
export async function forEachBounded<T>(items: Iterable<T>, concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new TypeError(`forEachBounded: concurrency must be a positive integer (got ${concurrency})`);
  const list = [...items];
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const index = next++;
      await task(list[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
}
