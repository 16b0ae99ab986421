/** How numbers, sizes and times read in the dashboard. Pure; unit-tested. */
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

/** "just now", "12 s ago", "5 min ago", or the date when older than a day. */
export function formatAgo(time: number, now = Date.now()): string {
  const ms = now - time;
  if (ms < 2000) return 'just now';
  if (ms < 86_400_000) return `${formatDuration(ms).replace(/ \d+ (s|min)$/, '')} ago`;
  return new Date(time).toLocaleString();
}

/** Wall-clock time of day with milliseconds, for event timelines. */
export function formatClock(time: number): string {
  const d = new Date(time);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Latency in ms: "0.42 ms", "12 ms", "1.2 s". */
export function formatLatency(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}
