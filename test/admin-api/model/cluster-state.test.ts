import { describe, expect, it } from 'vitest';
import type { LifecycleEvent, LifecycleEventBody, MemberInfo } from '@highlander/runtime';
import { ClusterState, TOMBSTONE_MS, type StateChange } from '../../../admin-api/src/model/cluster-state.js';

/**
 * How events, member listings and scans fold into the model's state: no I/O, times passed in. The
 * live model over real nodes is in live-cluster-model.test.ts.
 */

const NOW = 1_700_000_000_000;

function member(name: string, overrides: Partial<MemberInfo> = {}): MemberInfo {
  return { name, address: `ws://127.0.0.1:1/${name}`, pid: 1, startedAt: NOW - 1000, activations: 0, draining: false, ...overrides };
}

let seq = 0;
function event(node: string, body: LifecycleEventBody, time = NOW): LifecycleEvent {
  return { ...body, seq: ++seq, node, time } as LifecycleEvent;
}

function activated(node: string, id: string, epoch: string, time = NOW): LifecycleEvent {
  return event(node, { kind: 'object.activated', type: 'todo', id, epoch, version: 1, stored: true, loadMs: 1 }, time);
}

function deactivated(node: string, id: string, epoch: string): LifecycleEvent {
  return event(node, { kind: 'object.deactivated', type: 'todo', id, epoch, reason: 'idle', activeMs: 1 });
}

function stateWithChanges(): { state: ClusterState; changes: StateChange[] } {
  const changes: StateChange[] = [];
  const state = new ClusterState((change) => changes.push(change));
  return { state, changes };
}

describe('ClusterState: members', () => {
  it('tells new members (or a new process under a known name) from known ones, and names the ones gone', () => {
    const { state, changes } = stateWithChanges();
    expect(state.applyMembers([member('node-a'), member('node-b')])).toEqual({ started: [member('node-a'), member('node-b')], gone: [] });
    expect(changes).toEqual([{ kind: 'node', name: 'node-a' }, { kind: 'node', name: 'node-b' }]);
    // node-a publishes new info (same process); node-b restarted (another start time); node-c is new.
    const result = state.applyMembers([member('node-a', { draining: true }), member('node-b', { startedAt: NOW }), member('node-c')]);
    expect(result.started.map((m) => m.name)).toEqual(['node-b', 'node-c']);
    expect(state.nodeView('node-a', NOW)?.status).toBe('draining');
    expect(state.applyMembers([member('node-a', { draining: true })]).gone).toEqual(['node-b', 'node-c']);
  });

  it('a member is up while its event stream is connected, unreachable otherwise', () => {
    const { state } = stateWithChanges();
    state.applyMembers([member('node-a')]);
    expect(state.nodeView('node-a', NOW)).toMatchObject({ status: 'unreachable', uptimeMs: 1000, activations: 0 });
    state.setStreamConnected('node-a', true);
    expect(state.nodeView('node-a', NOW)?.status).toBe('up');
    expect(state.nodeView('node-x', NOW)).toBeUndefined();
  });

  it('a member that left takes its objects with it', () => {
    const { state, changes } = stateWithChanges();
    state.applyMembers([member('node-a'), member('node-b')]);
    state.fold(activated('node-a', 'x', '10'), NOW);
    state.fold(activated('node-b', 'y', '11'), NOW);
    changes.length = 0;
    state.removeMember('node-a', NOW);
    expect([...state.objects.keys()]).toEqual(['todo/y']);
    expect(changes).toEqual([{ kind: 'object', type: 'todo', id: 'x', record: null }, { kind: 'node', name: 'node-a' }]);
  });
});

describe('ClusterState: lifecycle events', () => {
  it('an activation replaces what is known only with a newer epoch, whatever the order events arrive in', () => {
    const { state } = stateWithChanges();
    state.fold(activated('node-b', 'x', '20'), NOW);
    state.fold(activated('node-a', 'x', '10'), NOW); // an older backlog replayed later
    expect(state.objects.get('todo/x')).toMatchObject({ owner: 'node-b', epoch: '20', activeSince: NOW });
    state.fold(activated('node-a', 'x', '30'), NOW);
    expect(state.objects.get('todo/x')?.owner).toBe('node-a');
  });

  it('a deactivation removes the object only for its owner and epoch; the tombstone keeps older activations out', () => {
    const { state } = stateWithChanges();
    state.fold(activated('node-a', 'x', '10'), NOW);
    state.fold(deactivated('node-b', 'x', '10'), NOW);
    state.fold(deactivated('node-a', 'x', '9'), NOW);
    expect(state.objects.has('todo/x')).toBe(true);
    state.fold(deactivated('node-a', 'x', '10'), NOW);
    expect(state.objects.has('todo/x')).toBe(false);
    state.fold(activated('node-c', 'x', '10'), NOW);
    expect(state.objects.has('todo/x')).toBe(false);
    state.fold(activated('node-c', 'x', '11'), NOW);
    expect(state.objects.get('todo/x')?.owner).toBe('node-c');
  });

  it('a node that went down or lost its session drops its objects', () => {
    const { state } = stateWithChanges();
    state.fold(activated('node-a', 'x', '10'), NOW);
    state.fold(activated('node-b', 'y', '11'), NOW);
    state.fold(event('node-a', { kind: 'node.session-lost', activationsDropped: 1 }), NOW);
    state.fold(event('node-b', { kind: 'node.down', reason: 'shutdown' }), NOW);
    expect(state.objects.size).toBe(0);
  });

  it('stats give node and object rates, which read as 0 once they are stale', () => {
    const { state } = stateWithChanges();
    state.applyMembers([member('node-a')]);
    state.fold(activated('node-a', 'x', '10'), NOW);
    state.fold(event('node-a', {
      kind: 'stats', intervalMs: 1000, activations: 1,
      byType: { todo: { calls: 30, errors: 0, rejected: 0, p50Ms: 1, p99Ms: 2 } },
      objects: [{ type: 'todo', id: 'x', calls: 25, queue: 3 }, { type: 'todo', id: 'unknown', calls: 5, queue: 0 }], objectsOmitted: 0,
    }, NOW), NOW);
    const x = state.objects.get('todo/x')!;
    expect(state.objectView(x, NOW)).toMatchObject({ lastCallAt: NOW, callsPerSecond: 25, queueLength: 3 });
    expect(state.objectView(x, NOW + 2600)).toMatchObject({ lastCallAt: NOW, callsPerSecond: 0, queueLength: 0 });
    expect(state.nodeView('node-a', NOW)).toMatchObject({ callsPerSecond: 30, activations: 1 });
    expect(state.nodeView('node-a', NOW + 2500)?.callsPerSecond).toBe(0);
  });

  it('counts the nodes waiting in a lock queue from lock.queued and lock.acquired, and from what the source says', () => {
    const { state } = stateWithChanges();
    state.fold(activated('node-a', 'x', '10'), NOW);
    const queued = (node: string) => event(node, { kind: 'lock.queued', type: 'todo', id: 'x', position: 1, owner: 'node-a' });
    state.fold(queued('node-b'), NOW);
    state.fold(queued('node-b'), NOW);
    state.fold(queued('node-a'), NOW); // the owner does not wait behind itself
    expect(state.objectView(state.objects.get('todo/x')!, NOW).waiting).toBe(1);
    state.fold(event('node-b', { kind: 'lock.acquired', type: 'todo', id: 'x', epoch: '12', waitedMs: 5 }), NOW);
    expect(state.objects.get('todo/x')!.waiters.size).toBe(0);
    state.setWaiters('todo', 'x', ['node-c', 'node-d'], 'node-a');
    state.setWaiters('todo', 'x', ['node-e'], 'node-z'); // about another owner: ignored
    expect([...state.objects.get('todo/x')!.waiters]).toEqual(['node-c', 'node-d']);
  });
});

describe('ClusterState: scans', () => {
  it('adds what a scan found that the events missed, but not what was removed after the scan began', () => {
    const { state } = stateWithChanges();
    state.fold(activated('node-a', 'known', '10'), NOW);
    expect(state.missesOwner('todo', 'known', 'node-a', NOW)).toBe(false);
    expect(state.missesOwner('todo', 'known', 'node-b', NOW)).toBe(true);
    expect(state.missesOwner('todo', 'new', 'node-a', NOW)).toBe(true);
    state.fold(deactivated('node-a', 'known', '10'), NOW + 5);
    expect(state.missesOwner('todo', 'known', 'node-a', NOW)).toBe(false);
    expect(state.missesOwner('todo', 'known', 'node-a', NOW + 10)).toBe(true);
    state.addScanned('todo', 'new', 'node-a', '15', NOW - 100);
    expect(state.objects.get('todo/new')).toMatchObject({ owner: 'node-a', epoch: '15', activeSince: NOW - 100, lastCallAt: null });
  });

  it('drops what a scan did not find unless activated after it began, and forgets old tombstones', () => {
    const { state } = stateWithChanges();
    state.fold(activated('node-a', 'old', '10', NOW - 10), NOW);
    state.fold(activated('node-a', 'late', '11', NOW + 10), NOW);
    state.fold(activated('node-a', 'found', '12', NOW - 10), NOW);
    state.forgetUnscanned(new Set(['todo/found']), NOW);
    expect([...state.objects.keys()].sort()).toEqual(['todo/found', 'todo/late']);

    state.fold(deactivated('node-a', 'found', '12'), NOW);
    expect(state.missesOwner('todo', 'found', 'node-a', NOW - 1)).toBe(false);
    state.forgetUnscanned(new Set(), NOW + TOMBSTONE_MS + 1);
    // The tombstone is gone: a scan that began earlier may bring the object back now.
    expect(state.missesOwner('todo', 'found', 'node-a', NOW - 1)).toBe(true);
  });
});
