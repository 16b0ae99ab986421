import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export interface ClosedLoopOptions {
  /** Workers, each awaiting one operation at a time: the number of operations in flight. */
  concurrency: number;
  /** How long to measure. */
  durationMs: number;
  /**
   * For operations that settle without I/O (microtasks only): read the clock every this many
   * operations per worker, and measure in slices of `sliceMs` with a turn of the event loop in
   * between (a loop of already-resolved promises never lets timers or sockets run). Operations are
   * then counted until the last worker stops. With the default of 1, every operation reads the
   * clock and only those completed before the deadline count.
   * @default 1
   */
  clockEvery?: number;
  /** @default 250 (used only with clockEvery > 1) */
  sliceMs?: number;
}

export interface ClosedLoopResult {
  operations: number;
  elapsedMs: number;
  /** Operations per second. */
  rate: number;
}

/**
 * A closed-loop load: `concurrency` workers call `operation` back to back for `durationMs`.
 * The first failure stops the measurement and is thrown.
 */
export async function closedLoop(operation: () => unknown, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const clockEvery = options.clockEvery ?? 1;
  if (clockEvery <= 1) return deadlineLoop(operation, options.concurrency, options.durationMs);
  const sliceMs = options.sliceMs ?? 250;
  let operations = 0;
  let elapsedMs = 0;
  while (elapsedMs < options.durationMs) {
    const slice = await slicedLoop(operation, options.concurrency, Math.min(sliceMs, options.durationMs - elapsedMs), clockEvery);
    operations += slice.operations;
    elapsedMs += slice.elapsedMs;
    await yieldToEventLoop();
  }
  return { operations, elapsedMs, rate: (operations * 1000) / elapsedMs };
}

async function deadlineLoop(operation: () => unknown, concurrency: number, durationMs: number): Promise<ClosedLoopResult> {
  const started = performance.now();
  const deadline = started + durationMs;
  let operations = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined) {
      try {
        await operation();
      } catch (err) {
        failure ??= err;
        return;
      }
      if (performance.now() > deadline) return;
      operations++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
  return { operations, elapsedMs: durationMs, rate: (operations * 1000) / durationMs };
}

async function slicedLoop(operation: () => unknown, concurrency: number, durationMs: number, clockEvery: number): Promise<ClosedLoopResult> {
  const started = performance.now();
  const deadline = started + durationMs;
  let operations = 0;
  let failure: unknown;
  const worker = async () => {
    let mine = 0;
    try {
      for (;;) {
        await operation();
        mine++;
        if (mine % clockEvery === 0 && (failure !== undefined || performance.now() > deadline)) break;
      }
    } catch (err) {
      failure ??= err;
    }
    operations += mine;
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure;
  const elapsedMs = performance.now() - started;
  return { operations, elapsedMs, rate: (operations * 1000) / elapsedMs };
}

/**
 * Measures the figure and the baseline of one run, in an order that alternates run by run, so that
 * drift on a busy machine does not always favour one side.
 */
export async function alternate<F, B>(run: number, figure: () => Promise<F>, baseline: () => Promise<B>): Promise<{ figure: F; baseline: B }> {
  if (run % 2 === 0) {
    const f = await figure();
    return { figure: f, baseline: await baseline() };
  }
  const b = await baseline();
  return { figure: await figure(), baseline: b };
}
