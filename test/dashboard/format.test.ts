import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatClock, formatCount, formatDuration, formatLatency, formatRate } from '../../dashboard/src/lib/format.ts';

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

  it('ages and clock times', () => {
    expect(formatAgo(10_000, 11_000)).toBe('just now');
    expect(formatAgo(0, 12_000)).toBe('12 s ago');
    expect(formatAgo(0, 305_000)).toBe('5 min ago');
    expect(formatClock(new Date(2026, 0, 1, 9, 5, 7, 42).getTime())).toBe('09:05:07.042');
  });

  it('latencies', () => {
    expect(formatLatency(0.423)).toBe('0.42 ms');
    expect(formatLatency(4.56)).toBe('4.6 ms');
    expect(formatLatency(120)).toBe('120 ms');
    expect(formatLatency(1500)).toBe('1.5 s');
  });
});
