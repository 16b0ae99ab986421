import { sleep } from '@highlander/kit';
import type { HighlanderNode } from '@highlander/runtime';
import type { AudienceMetrics } from './gateway-metrics.js';
import { Attendee } from './objects.js';
import { attendeeId } from './protocol.js';

/**
 * Lazy writes of `attendee` objects: one participant's position, mirrored from its talk so the
 * audience appears on the cluster map. A device's attendee is written at most every
 * `intervalMs` while its position changes, and once more when it leaves; at most `inFlight`
 * writes run at once, at most `perSecond` start per second, and the latest position wins. So a
 * room costs at most min(devices / interval, perSecond) S3 PUTs per second per gateway (the mirror
 * lags more in a big room). The writes never sit on the feedback path (the talk already holds every
 * acknowledged position before an attendee is written), and they yield to it: while `busy()` says
 * the talks' batches are slow (the store is the shared bottleneck), no new write starts.
 */

const PUMP_EVERY_MS = 100;

interface Entry {
  code: string;
  device: string;
  /** The latest position applied to the talk. */
  value: number;
  /** The position last written (undefined: never). */
  written: number | undefined;
  /** performance.now() of the last write's start. */
  writtenAt: number;
  /** The device has left: write once more if needed, then forget it. */
  leaving: boolean;
  writing: boolean;
}

export class AttendeeWriter {
  readonly #entries = new Map<string, Entry>();
  readonly #timer: NodeJS.Timeout;
  #running = 0;
  #closed = false;
  /** Writes that may start now (refilled at `perSecond`). */
  #budget = 0;
  #budgetAt = performance.now();

  constructor(
    private readonly node: HighlanderNode,
    private readonly metrics: AudienceMetrics,
    private readonly options: { intervalMs: number; inFlight: number; perSecond: number; busy: () => boolean },
  ) {
    this.#timer = setInterval(() => this.#pump(), PUMP_EVERY_MS).unref();
  }

  /** Writes pending or running. */
  get backlog(): number {
    let n = 0;
    for (const entry of this.#entries.values()) if (entry.writing || entry.value !== entry.written) n++;
    return n;
  }

  /** A position of `device` is now in its talk; `present`: the device is still connected here. */
  applied(code: string, device: string, value: number, present: boolean): void {
    const key = attendeeId(code, device);
    const entry = this.#entries.get(key);
    if (entry) {
      entry.value = value;
      entry.leaving = !present;
    } else {
      this.#entries.set(key, { code, device, value, written: undefined, writtenAt: -Infinity, leaving: !present, writing: false });
    }
  }

  /** `device` has no connection left in room `code`. */
  left(code: string, device: string): void {
    const entry = this.#entries.get(attendeeId(code, device));
    if (!entry) return;
    entry.leaving = true;
    this.#pump();
  }

  /** Writes what leaving devices still need (within `deadlineMs`), then stops. */
  async close(deadlineMs: number): Promise<void> {
    for (const entry of this.#entries.values()) entry.leaving = true;
    const deadline = performance.now() + deadlineMs;
    while (performance.now() < deadline && (this.#running > 0 || [...this.#entries.values()].some((e) => e.value !== e.written))) {
      this.#pump(true);
      await sleep(20);
    }
    this.#closed = true;
    clearInterval(this.#timer);
  }

  #pump(ignoreInterval = false): void {
    if (this.#closed) return;
    const now = performance.now();
    const { perSecond } = this.options;
    this.#budget = Math.min(perSecond, this.#budget + ((now - this.#budgetAt) / 1000) * perSecond);
    this.#budgetAt = now;
    if (!ignoreInterval && this.options.busy()) return;
    for (const [key, entry] of this.#entries) {
      if (this.#running >= this.options.inFlight || (this.#budget < 1 && !ignoreInterval)) return;
      if (entry.writing) continue;
      if (entry.value === entry.written) {
        if (entry.leaving) this.#entries.delete(key);
        continue;
      }
      if (!ignoreInterval && !entry.leaving && now - entry.writtenAt < this.options.intervalMs) continue;
      this.#write(key, entry, now);
    }
  }

  #write(key: string, entry: Entry, now: number): void {
    this.#budget--;
    entry.writing = true;
    entry.writtenAt = now;
    const value = entry.value;
    this.#running++;
    this.node.ref(Attendee, key).call('set', { talk: entry.code, position: value }).then(
      () => {
        entry.written = value;
        this.metrics.attendeeWrites.inc({ result: 'ok' });
      },
      () => {
        // A lagging mirror, not feedback: it is written again on the next pass.
        this.metrics.attendeeWrites.inc({ result: 'failed' });
      },
    ).finally(() => {
      entry.writing = false;
      this.#running--;
      if (entry.leaving && entry.value === entry.written && this.#entries.get(key) === entry) this.#entries.delete(key);
    });
  }
}
