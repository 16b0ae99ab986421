/** How numbers, sizes and times read in the dashboard; the only place a time is formatted for display. Pure; unit-tested. */
import { format } from 'd3';

const si = format('.3~s');
const grouped = format(',');

/** 1234 → "1,234"; 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Math.abs(n) < 100_000 ? grouped(Math.round(n)) : si(n).replace('G', 'B');
}

/** Calls per second: "0", "0.4", "12", "1.2k". */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond === 0) return '0';
  if (perSecond < 10) return perSecond.toFixed(1).replace(/\.0$/, '');
  return perSecond < 10_000 ? String(Math.round(perSecond)) : si(perSecond);
}

/** 512 → "512 B", 2048 → "2.0 KiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A duration: "850 ms", "4.2 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${Math.floor(s % 60) ? ` ${Math.floor(s % 60)} s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** Which clock the dashboard shows times in: the browser's own zone, or UTC (to match server logs). */
export type TimeZone = 'UTC' | 'local';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The calendar fields of `time` in `zone`, and the zone's offset from UTC in minutes (east positive). */
function fields(time: number, zone: TimeZone) {
  const d = new Date(time);
  if (zone === 'UTC') {
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(), seconds: d.getUTCSeconds(), ms: d.getUTCMilliseconds(), offset: 0 };
  }
  return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds(), ms: d.getMilliseconds(), offset: -d.getTimezoneOffset() };
}

/** The zone a timestamp names: "UTC", or the local offset ("UTC-05:00", "UTC+05:30"; "UTC+00:00" in a local zone that is UTC). */
export function formatZone(time: number, zone: TimeZone): string {
  if (zone === 'UTC') return 'UTC';
  const offset = fields(time, zone).offset;
  return `UTC${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** A point in time in full: "2026-12-03 14:05:09 UTC", or "2026-12-03 09:05:09 UTC-05:00" in local time. */
export function formatTimestamp(time: number, zone: TimeZone): string {
  if (!Number.isFinite(time)) return '–';
  const f = fields(time, zone);
  return `${f.year}-${pad(f.month)}-${pad(f.day)} ${pad(f.hours)}:${pad(f.minutes)}:${pad(f.seconds)} ${formatZone(time, zone)}`;
}

/**
 * Time of day, 24-hour: "14:05:09". Event lists add milliseconds ("14:05:09.042"): events of the
 * same second (a lock handed on, an activation) read in order.
 */
export function formatClock(time: number, zone: TimeZone, options: { ms?: boolean } = {}): string {
  if (!Number.isFinite(time)) return '–';
  const f = fields(time, zone);
  return `${pad(f.hours)}:${pad(f.minutes)}:${pad(f.seconds)}${options.ms ? `.${pad(f.ms, 3)}` : ''}`;
}

/** A time axis tick: "14:05" on a whole minute, "14:05:10" between (d3's default reads 02:05 for 14:05). */
export function formatAxisTime(time: number, zone: TimeZone): string {
  const clock = formatClock(time, zone);
  return clock.endsWith(':00') ? clock.slice(0, 5) : clock;
}

/** "just now", "12 s ago", "5 min ago", or the full timestamp when older than a day. */
export function formatAgo(time: number, now: number, zone: TimeZone): string {
  const ms = now - time;
  if (ms < 2000) return 'just now';
  if (ms < 86_400_000) return `${formatDuration(ms).replace(/ \d+ (s|min)$/, '')} ago`;
  return formatTimestamp(time, zone);
}

/** Latency in ms: "0.42 ms", "12 ms", "1.2 s". */
export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
