import { formatAgo, formatAxisTime, formatClock, formatTimestamp, type TimeZone } from './format.ts';

const KEY = 'highlander.timeZone';

/**
 * The zone every time in the dashboard is shown in: the browser's (the default) or UTC, switched in
 * the header and kept in localStorage. Views format through these methods: each reads `zone`, so
 * whatever shows a time is shown again when it changes.
 */
class TimeZoneSetting {
  zone = $state<TimeZone>(localStorage.getItem(KEY) === 'UTC' ? 'UTC' : 'local');

  set(zone: TimeZone): void {
    this.zone = zone;
    localStorage.setItem(KEY, zone);
  }

  /** "2026-12-03 14:05:09 UTC": for a title, a detail line, a table cell. */
  stamp = (time: number): string => formatTimestamp(time, this.zone);
  /** "14:05:09" ("14:05:09.042" with `ms`): for lists and tooltips on a time axis. */
  clock = (time: number, options?: { ms?: boolean }): string => formatClock(time, this.zone, options);
  /** An axis tick: "14:05" or "14:05:10". */
  tick = (time: number | Date): string => formatAxisTime(+time, this.zone);
  /** "5 min ago" (the full timestamp when older than a day). */
  ago = (time: number, now = Date.now()): string => formatAgo(time, now, this.zone);
}

export const timeZone = new TimeZoneSetting();
