import { describe, expect, it } from 'vitest';
import type { ClusterSource, LockQueueScan, SourceLockEntry } from '@highlander/admin-api';
import { ClusterState } from '../../../admin-api/src/model/cluster-state.js';
import { Reconciler } from '../../../admin-api/src/model/reconciler.js';

/**
 * Reconciliation against a scripted source (the admin API's own ClusterSource contract; the live
 * model against ZooKeeper and node processes is in live-cluster-model.test.ts).
 */

class ScriptedSource {
  queues: LockQueueScan[] = [];
  entries = new Map<string, { epoch: string; waitingSince: number }>();
  scans = 0;
  /** While set, scans wait for it. */
  gate: Promise<void> | undefined;

  async scanLockQueues(): Promise<LockQueueScan[]> {
    this.scans++;
    await this.gate;
    return this.queues;
  }

  async readLockEntry(_type: string, _id: string, path: string): Promise<{ epoch: string; waitingSince: number } | null> {
    return this.entries.get(path) ?? null;
  }
}

function entry(node: string, sequence: number, known?: { epoch: string; waitingSince: number }): SourceLockEntry {
  return { node, sequence, path: `/h/lock-${node}-${sequence}`, epoch: known?.epoch ?? null, waitingSince: known?.waitingSince ?? null };
}

function setUp() {
  const source = new ScriptedSource();
  const state = new ClusterState(() => {});
  const reconciler = new Reconciler({ source: source as unknown as ClusterSource, state, concurrency: 4 });
  return { source, state, reconciler };
}

describe('Reconciler', () => {
  it('adds the objects the events missed (reading the owner entry when the scan lacks it), their waiters, and drops the gone', async () => {
    const { source, state, reconciler } = setUp();
    const before = Date.now() - 1000;
    state.addScanned('todo', 'gone', 'node-a', '1', before);
    state.addScanned('todo', 'kept', 'node-a', '2', before);
    source.entries.set('/h/lock-node-b-7', { epoch: '70', waitingSince: before + 7 });
    source.queues = [
      { type: 'todo', id: 'kept', entries: [entry('node-a', 2)] },
      { type: 'todo', id: 'listed', entries: [entry('node-a', 5, { epoch: '50', waitingSince: before + 5 }), entry('node-c', 6)] },
      { type: 'todo', id: 'read', entries: [entry('node-b', 7)] },
      { type: 'todo', id: 'released', entries: [entry('node-b', 8)] }, // its entry is gone when read
    ];
    expect(reconciler.last).toBeNull();
    await reconciler.reconcile();
    expect([...state.objects.keys()].sort()).toEqual(['todo/kept', 'todo/listed', 'todo/read']);
    expect(state.objects.get('todo/listed')).toMatchObject({ owner: 'node-a', epoch: '50', activeSince: before + 5 });
    expect([...state.objects.get('todo/listed')!.waiters]).toEqual(['node-c']);
    expect(state.objects.get('todo/read')).toMatchObject({ owner: 'node-b', epoch: '70', activeSince: before + 7 });
    expect(reconciler.last).toEqual({ at: expect.any(Number), durationMs: expect.any(Number) });
  });

  it('shares one scan between concurrent calls, plus one more only for missed events the running scan may not see', async () => {
    const { source, reconciler } = setUp();
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const first = reconciler.reconcile();
    const missedEarlier = reconciler.reconcile(Date.now() - 60_000); // the running scan sees their outcome
    expect(missedEarlier).toBe(first);
    open();
    await first;
    expect(source.scans).toBe(1);

    source.gate = new Promise((resolve) => (open = resolve));
    const second = reconciler.reconcile();
    void reconciler.reconcile(Date.now() + 60_000);
    void reconciler.reconcile();
    open();
    await second;
    expect(source.scans).toBe(3);
  });
});
