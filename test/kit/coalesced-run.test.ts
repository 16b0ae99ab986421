import { describe, expect, it } from 'vitest';
import { CoalescedRun } from '@highlander/kit';

describe('CoalescedRun', () => {
  it('runs once at a time; requests during a run coalesce into one rerun; a joining request can skip it', async () => {
    const releases: Array<() => void> = [];
    let runs = 0;
    const run = new CoalescedRun(async () => {
      runs++;
      await new Promise<void>((resolve) => releases.push(resolve));
    });
    const first = run.request();
    expect(run.running).toBe(true);
    const joined = run.request(false);
    expect(runs).toBe(1);
    void run.request();
    void run.request();
    releases.shift()!();
    await expect.poll(() => runs).toBe(2);
    releases.shift()!();
    await Promise.all([first, joined]);
    expect(runs).toBe(2);
    expect(run.running).toBe(false);
  });

  it('rejects the requests of a failed run, and runs nothing after stop', async () => {
    let runs = 0;
    const failing = new CoalescedRun(async () => {
      runs++;
      throw new Error('listing failed');
    });
    await expect(failing.request()).rejects.toThrow('listing failed');
    failing.stop();
    await failing.request();
    expect(runs).toBe(1);
  });
});
