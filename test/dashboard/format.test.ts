import { describe, expect, it } from 'vitest';
import { formatAgo, formatAxisTime, formatBytes, formatClock, formatCount, formatDuration, formatLatency, formatRate, formatTimestamp, formatZone } from '../../dashboard/src/lib/format.ts';

/** The instant a full timestamp names: its fields read as UTC, less the zone's offset. */
function instantOf(stamp: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC(?:([+-])(\d\d):(\d\d))?$/.exec(stamp);
  if (!m) throw new Error(`not a timestamp: ${stamp}`);
  const [, y, mo, d, h, mi, s, sign, oh, om] = m;
  const offsetMin = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offsetMin * 60_000;
}


describe('format', () => {
  it('counts', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(1234)).toBe('1,234');
    expect(formatCount(1_234_567)).toBe('1.23M');
    expect(formatCount(Number.NaN)).toBe('–');
  });

  it('rates', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(0.42)).toBe('0.4');
    expect(formatRate(3)).toBe('3');
    expect(formatRate(812.6)).toBe('813');
    expect(formatRate(15_300)).toBe('15.3k');
  });

  it('bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
  });

  it('durations, with units', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4200)).toBe('4.2 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(2 * 3600_000 + 10 * 60_000)).toBe('2 h 10 min');
    expect(formatDuration(3 * 86_400_000 + 4 * 3600_000)).toBe('3 d 4 h');
  });

  it('ages: relative within a day, the full timestamp in the chosen zone after', () => {
    expect(formatAgo(10_000, 11_000, 'UTC')).toBe('just now');
    expect(formatAgo(0, 12_000, 'UTC')).toBe('12 s ago');
    expect(formatAgo(0, 305_000, 'local')).toBe('5 min ago');
    const old = Date.UTC(2026, 11, 1, 8, 30, 0);
    expect(formatAgo(old, old + 2 * 86_400_000, 'UTC')).toBe('2026-12-01 08:30:00 UTC');
    expect(formatAgo(old, old + 2 * 86_400_000, 'local')).toBe(formatTimestamp(old, 'local'));
  });

  it('timestamps and clock times in UTC', () => {
    const t = Date.UTC(2026, 11, 3, 14, 5, 9, 42);
    expect(formatTimestamp(t, 'UTC')).toBe('2026-12-03 14:05:09 UTC');
    expect(formatClock(t, 'UTC')).toBe('14:05:09');
    expect(formatClock(t, 'UTC', { ms: true })).toBe('14:05:09.042');
    expect(formatZone(t, 'UTC')).toBe('UTC');
    // Every field padded, hours 24-hour.
    const early = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    expect(formatTimestamp(early, 'UTC')).toBe('2026-01-02 03:04:05 UTC');
    expect(formatClock(early, 'UTC', { ms: true })).toBe('03:04:05.006');
    expect(formatClock(Date.UTC(2026, 0, 2, 23, 59, 59), 'UTC')).toBe('23:59:59');
  });

  it('timestamps and clock times in local time: the fields Date gives, and a suffix naming the same instant', () => {
    // One in winter and one in summer: a zone with daylight saving time has two offsets.
    for (const t of [Date.UTC(2026, 0, 15, 23, 30, 1, 250), Date.UTC(2026, 6, 15, 0, 15, 59, 999)]) {
      const d = new Date(t);
      const pad = (n: number) => String(n).padStart(2, '0');
      const stamp = formatTimestamp(t, 'local');
      expect(stamp.startsWith(`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} `)).toBe(true);
      expect(formatZone(t, 'local')).toMatch(/^UTC[+-]\d\d:\d\d$/);
      expect(stamp.endsWith(` ${formatZone(t, 'local')}`)).toBe(true);
      expect(instantOf(stamp)).toBe(Math.floor(t / 1000) * 1000);
      expect(instantOf(formatTimestamp(t, 'UTC'))).toBe(Math.floor(t / 1000) * 1000);
      expect(formatClock(t, 'local')).toBe(`${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`);
      expect(formatClock(t, 'local', { ms: true })).toBe(`${formatClock(t, 'local')}.${String(d.getMilliseconds()).padStart(3, '0')}`);
    }
  });

  it('axis ticks: minutes on a whole minute, seconds between', () => {
    expect(formatAxisTime(Date.UTC(2026, 11, 3, 14, 5, 0), 'UTC')).toBe('14:05');
    expect(formatAxisTime(Date.UTC(2026, 11, 3, 14, 0, 0), 'UTC')).toBe('14:00');
    expect(formatAxisTime(Date.UTC(2026, 11, 3, 14, 5, 10), 'UTC')).toBe('14:05:10');
    const local = new Date(2026, 11, 3, 9, 5, 0).getTime();
    expect(formatAxisTime(local, 'local')).toBe('09:05');
    expect(formatAxisTime(local + 30_000, 'local')).toBe('09:05:30');
  });

  it('a time that is not a number reads as a dash', () => {
    expect(formatTimestamp(Number.NaN, 'UTC')).toBe('–');
    expect(formatClock(Number.NaN, 'local')).toBe('–');
  });

  it('latencies', () => {
    expect(formatLatency(0.423)).toBe('0.42 ms');
    expect(formatLatency(4.56)).toBe('4.6 ms');
    expect(formatLatency(120)).toBe('120 ms');
    expect(formatLatency(1500)).toBe('1.5 s');
  });
});
