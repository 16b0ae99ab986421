import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Coordinator } from '@highlander/runtime';
import type { Activation } from '../../runtime/src/activation/activation.js';
import { LeaseGuard, PAUSE_THRESHOLD_MS, PAUSE_TICK_MS } from '../../runtime/src/lease-guard.js';

/**
 * The lease guard's decisions, with stand-ins for the coordinator and the activations (a unit test
 * of pure logic: a resumed zombie on real ZooKeeper is in test/cluster/admin-actions.test.ts and the
 * fault suite). A pause is made for real: the event loop is blocked past the threshold.
 */

let guard: LeaseGuard | undefined;
afterEach(() => guard?.stop());

function coordinator(lease: { held: boolean }): Coordinator {
  return { holdsLease: () => lease.held } as unknown as Coordinator;
}

/** An activation holding a lock whose `verify()` answers as told (or fails while `unreachable`). */
function heldActivation(name: string, lockExists: () => boolean, unreachable = { now: false }) {
  const dropped: string[] = [];
  const activation = {
    type: 'counter', id: name, status: 'active',
    lock: { verify: async () => {
      if (unreachable.now) throw new Error('ZooKeeper unreachable');
      return lockExists();
    } },
    drop: (reason: string) => dropped.push(reason),
  };
  return { activation: activation as unknown as Activation, dropped };
}

function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* a stopped or starved process */ }
}

describe('LeaseGuard', () => {
  it('holds the lease exactly while the coordinator does', () => {
    const lease = { held: true };
    guard = new LeaseGuard({ coordinator: coordinator(lease), activations: [], running: () => true });
    guard.start();
    expect(guard.holdsLease()).toBe(true);
    lease.held = false;
    expect(guard.holdsLease()).toBe(false);
  });

  it('after a pause, serves nothing until every held lock is verified, and drops those whose lock is gone', async () => {
    const kept = heldActivation('kept', () => true);
    const evicted = heldActivation('evicted', () => false);
    guard = new LeaseGuard({ coordinator: coordinator({ held: true }), activations: [kept.activation, evicted.activation], running: () => true });
    guard.start();
    blockEventLoop(PAUSE_TICK_MS + PAUSE_THRESHOLD_MS + 100);
    // Right after the resume, before the late tick has even run: no lease.
    expect(guard.holdsLease()).toBe(false);
    await vi.waitFor(() => expect(guard!.holdsLease()).toBe(true));
    expect(evicted.dropped).toEqual(['fenced']);
    expect(kept.dropped).toEqual([]);
  });

  it('keeps asking (with backoff) while ZooKeeper does not answer, serving nothing meanwhile', async () => {
    const unreachable = { now: true };
    const held = heldActivation('held', () => true, unreachable);
    guard = new LeaseGuard({ coordinator: coordinator({ held: true }), activations: [held.activation], running: () => true });
    guard.start();
    blockEventLoop(PAUSE_TICK_MS + PAUSE_THRESHOLD_MS + 100);
    expect(guard.holdsLease()).toBe(false);
    await vi.waitFor(() => expect(guard!.holdsLease()).toBe(false)); // still verifying
    unreachable.now = false;
    await vi.waitFor(() => expect(guard!.holdsLease()).toBe(true), { timeout: 5000 });
    expect(held.dropped).toEqual([]);
  });
});
