/** How an object's ownership history (GET /api/objects/:type/:id/history) is laid out as a timeline. Pure; unit-tested. */
import type { ActivationEndReason, HistoryEntry } from '@highlander/admin-api/protocol';

export interface TimelineBar {
  seq: number;
  node: string;
  epoch: string;
  start: number;
  /** Its end, or `now` while it lasts. */
  end: number;
  active: boolean;
  reason: ActivationEndReason | null;
  tone: Tone;
}

export interface TimelineMigration {
  seq: number;
  time: number;
  from: string;
  to: string;
  durationMs: number;
}

export interface TimelineFenced {
  seq: number;
  time: number;
  node: string;
  epoch: string;
}

export type Tone = 'ok' | 'warn' | 'danger' | 'neutral';

export interface TimelineLayout {
  /** One lane per node, in the order the history first mentions them (oldest first). */
  lanes: string[];
  bars: TimelineBar[];
  migrations: TimelineMigration[];
  fenced: TimelineFenced[];
  /** [start, end] of the time axis: the oldest entry to the newest (or `now` while one is active). */
  domain: [number, number];
}

/** Entries (any order) → lanes, bars, migrations and fenced writes over one time domain. */
export function layoutTimeline(entries: readonly HistoryEntry[], now: number): TimelineLayout {
  const oldestFirst = [...entries].sort((a, b) => a.seq - b.seq);
  const lanes: string[] = [];
  const lane = (node: string) => {
    if (!lanes.includes(node)) lanes.push(node);
  };
  const bars: TimelineBar[] = [];
  const migrations: TimelineMigration[] = [];
  const fenced: TimelineFenced[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (const entry of oldestFirst) {
    if (entry.kind === 'activation') {
      lane(entry.node);
      const end = entry.end ?? Math.max(now, entry.start);
      bars.push({ seq: entry.seq, node: entry.node, epoch: entry.epoch, start: entry.start, end, active: entry.end === null, reason: entry.reason, tone: toneOf(entry.reason, entry.end === null) });
      lo = Math.min(lo, entry.start);
      hi = Math.max(hi, end);
    } else if (entry.kind === 'migration') {
      lane(entry.from);
      lane(entry.to);
      migrations.push({ seq: entry.seq, time: entry.time, from: entry.from, to: entry.to, durationMs: entry.durationMs });
      lo = Math.min(lo, entry.time - entry.durationMs);
      hi = Math.max(hi, entry.time);
    } else {
      lane(entry.node);
      fenced.push({ seq: entry.seq, time: entry.time, node: entry.node, epoch: entry.epoch });
      lo = Math.min(lo, entry.time);
      hi = Math.max(hi, entry.time);
    }
  }
  if (!Number.isFinite(lo)) return { lanes, bars, migrations, fenced, domain: [now - 60_000, now] };
  // A little room either side, and never a zero-width axis (a single instant).
  const pad = Math.max(1000, (hi - lo) * 0.03);
  return { lanes, bars, migrations, fenced, domain: [lo - pad, hi + pad] };
}

/** How an activation's end reads: ordinary ends are quiet, a lost owner is a warning, a fenced one an alarm. */
export function toneOf(reason: ActivationEndReason | null, active: boolean): Tone {
  if (active) return 'ok';
  switch (reason) {
    case 'fenced':
      return 'danger';
    case 'session-lost':
    case 'node-left':
    case 'unknown':
      return 'warn';
    default:
      return 'neutral';
  }
}

const REASONS: Record<ActivationEndReason, string> = {
  idle: 'idle: no calls for the idle timeout',
  evicted: 'evicted by an operator',
  migrated: 'migrated to another node',
  drained: 'its node was drained',
  shutdown: 'its node shut down',
  fenced: 'fenced: a newer owner took it over',
  'session-lost': 'its node lost its ZooKeeper session',
  'node-left': 'its node left the cluster without saying',
  unknown: 'unknown: a later activation began before its end was reported',
};

/** Why an activation ended, in words. */
export function reasonText(reason: ActivationEndReason | null): string {
  return reason === null ? 'still active' : REASONS[reason];
}
