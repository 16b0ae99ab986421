import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, uniqueRoot, type ClusterConfig } from '../../scripts/cluster.js';
import { TEST_OBJECTS } from '../harness/test-objects.js';
import { s3Config, zookeeperConnect } from '../harness/servers.js';
import { Keyspace, ZkSession } from '@highlander/runtime/zookeeper';
import { S3StateStore } from '@highlander/runtime';
import { CallTimeout, InvalidObjectId, ObjectRejected, StateTooLarge, UnknownHandler } from '@highlander/runtime';
import { timing } from '../harness/timing.js';

/**
 * The runtime core on real parts: a standalone ZooKeeper, radosgw, and three node processes.
 * Each test gets its own ZooKeeper root and S3 prefix.
 */

let zk: ZkSession;
let cluster: Cluster | undefined;

function config(label: string, extra: Partial<ClusterConfig> = {}): ClusterConfig {
  return { zookeeper: zookeeperConnect(), s3: s3Config(), root: uniqueRoot(label), sessionTimeoutMs: timing.sessionTimeoutMs, objectsModule: TEST_OBJECTS, ...extra };
}

function storeFor(c: ClusterConfig): S3StateStore {
  const s3 = c.s3;
  return new S3StateStore({
    bucket: s3.bucket, prefix: `${c.root.slice(1)}/objects/`, endpoint: s3.endpoint, region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Lock znodes currently under an object's lock parent (empty when the parent is gone). */
async function lockZnodes(root: string, type: string, id: string): Promise<string[]> {
  return zk.getChildren(new Keyspace(root).lockParent(type, id)).catch(() => []);
}

async function activationsOf(c: Cluster, type: string, id: string): Promise<string[]> {
  const owners: string[] = [];
  for (const node of c.nodes) {
    if (!node.running) continue;
    const list = await node.activations();
    if (list.some((a) => a.type === type && a.id === id)) owners.push(node.name);
  }
  return owners;
}

/** The error a call failed with (the test fails if it succeeded). */
async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

beforeAll(async () => {
  zk = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => {
  zk.close();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

describe('ownership across three node processes', () => {
  it('50 concurrent first calls for one new id at 3 nodes make exactly one activation', async () => {
    const c = config('race');
    cluster = await Cluster.start(c, 3);
    const calls = Array.from({ length: 50 }, (_, i) => cluster!.nodes[i % 3]!.call<number>('counter', 'contended', 'increment', null));
    const replies = await Promise.all(calls);
    // Every increment was applied exactly once, by one owner: the replies are 1..50.
    expect([...replies].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const activated = cluster.allEvents().filter((e) => e.kind === 'object.activated' && e.type === 'counter' && e.id === 'contended');
    expect(activated).toHaveLength(1);
    expect(await activationsOf(cluster, 'counter', 'contended')).toEqual([activated[0]!.node]);
    expect(await lockZnodes(c.root, 'counter', 'contended')).toHaveLength(1);
  });

  it('auto-starts on call with the declared defaults, on a node chosen by placement, never on two nodes', async () => {
    const c = config('seed', { placement: 'round-robin' });
    cluster = await Cluster.start(c, 3);
    const [a, b, cNode] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    // Struct defaults for a new id.
    const todo = await a.get<{ title: string; completed: boolean; color: string }>('todo', 'todo-1');
    expect(todo).toEqual({ title: '', completed: false, color: 'blue' });
    // Round-robin spreads new activations: at least one lands on a node other than the caller.
    for (let i = 2; i <= 6; i++) await a.get('todo', `todo-${i}`);
    const owners = new Set<string>();
    for (let i = 1; i <= 6; i++) {
      const found = await activationsOf(cluster, 'todo', `todo-${i}`);
      expect(found).toHaveLength(1); // never two for one id
      owners.add(found[0]!);
    }
    expect(owners.size).toBeGreaterThan(1);
    // Calls from every node reach the single owner.
    await b.put('todo', 'todo-1', { title: 'Hello', completed: false, color: 'blue' });
    expect(await cNode.get('todo', 'todo-1')).toMatchObject({ title: 'Hello' });
    expect(await activationsOf(cluster, 'todo', 'todo-1')).toHaveLength(1);
  });

  it('forwards calls to the owner, and typed object errors arrive intact from another node', async () => {
    const c = config('forward');
    cluster = await Cluster.start(c, 3);
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    await a.call('list', 'groceries', 'share', 'alice');
    expect(await activationsOf(cluster, 'list', 'groceries')).toEqual(['node-a']);
    const size = await b.call<number>('list', 'groceries', 'insertTodo', { todo: { id: 't1', title: 'milk', completed: false }, userId: 'alice' });
    expect(size).toBe(1);
    const refused = await failure(b.call('list', 'groceries', 'insertTodo', { todo: { id: 't2', title: 'beer', completed: false }, userId: 'mallory' }));
    expect(refused).toBeInstanceOf(ObjectRejected);
    expect(refused.error).toBe('notAllowed');
    expect(refused.data).toMatchObject({ userId: 'mallory' });
    expect(await b.call('list', 'groceries', 'size')).toBe(1);
    // Still exactly one activation: b forwarded rather than activating.
    expect(await activationsOf(cluster, 'list', 'groceries')).toEqual(['node-a']);
  });

  it('idle teardown releases the lock znode and the next call sees the persisted state', async () => {
    const c = config('idle');
    cluster = await Cluster.start(c, 3);
    const a = cluster.nodes[0]!;
    expect(await a.call('quick', 'q1', 'touch', null)).toBe(1);
    expect(await lockZnodes(c.root, 'quick', 'q1')).toHaveLength(1);
    await a.waitForEvent((e) => e.kind === 'object.deactivated' && e.id === 'q1' && e.reason === 'idle', timing.eventMs);
    expect(await lockZnodes(c.root, 'quick', 'q1')).toHaveLength(0);
    expect(await zk.exists(new Keyspace(c.root).lockParent('quick', 'q1'))).toBeNull(); // the empty lock parent is gone too
    expect(await activationsOf(cluster, 'quick', 'q1')).toEqual([]);
    expect(await cluster.nodes[1]!.call('quick', 'q1', 'touch', null)).toBe(2);
  });

  it('state survives deactivation and a node restart', async () => {
    const c = config('restart');
    cluster = await Cluster.start(c, 3);
    const a = cluster.nodes[0]!;
    await a.call('user', 'myobie', 'rememberList', 'groceries');
    await a.stop(); // graceful: flush, release
    expect(await lockZnodes(c.root, 'user', 'myobie')).toHaveLength(0);
    expect(await cluster.nodes[1]!.call('user', 'myobie', 'lists')).toEqual(['groceries']);
    await cluster.nodes[1]!.stop();
    await a.start(); // same name, new process
    expect(await a.get('user', 'myobie')).toEqual({ name: '', email: '', knownLists: ['groceries'] });
  });

  it('200 concurrent increments on one object end at 200 in S3 with fewer PUTs than increments', async () => {
    const c = config('group-commit');
    cluster = await Cluster.start(c, 3);
    const a = cluster.nodes[0]!;
    const replies = await Promise.all(Array.from({ length: 200 }, () => a.call<number>('counter', 'hot', 'increment', null)));
    expect(new Set(replies).size).toBe(200);
    const store = storeFor(c);
    const stored = await store.read('counter', 'hot');
    await store.close();
    expect(JSON.parse(stored!.body)).toEqual({ value: 200 });
    const puts = a.events.filter((e) => e.kind === 'object.persisted' && e.id === 'hot');
    const carried = puts.reduce((sum, e) => sum + (e.kind === 'object.persisted' ? e.calls : 0), 0);
    expect(carried).toBe(200);
    expect(puts.length).toBeLessThan(200);
    // Claim (version 1) + one version per PUT.
    expect(stored!.version).toBe(puts.length + 1);
  });

  it('after kill -9 of the owner another node serves the object with its last acknowledged state', async () => {
    const c = config('kill');
    cluster = await Cluster.start(c, 3);
    const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
    for (let i = 0; i < 5; i++) await a.call('counter', 'survivor', 'increment', null);
    a.kill('SIGKILL');
    await a.exited();
    // The call waits (within its timeout) until the dead owner's session expires, then activates elsewhere.
    const next = await b.call<number>('counter', 'survivor', 'increment', null, timing.failoverMs);
    expect(next).toBe(6);
    expect(await activationsOf(cluster, 'counter', 'survivor')).toEqual(['node-b']);
    const queue = await lockZnodes(c.root, 'counter', 'survivor');
    expect(queue).toHaveLength(1);
    expect(queue[0]).toContain('lock-node-b-');
  });

  it('invalid ids, unknown handlers and oversized state get clear errors and write nothing', async () => {
    const c = config('bad-input', { maxStateBytes: 64 * 1024 });
    cluster = await Cluster.start(c, 3);
    const a = cluster.nodes[0]!;
    const badId = await failure(a.call('counter', 'has space', 'increment', null));
    expect(badId).toBeInstanceOf(InvalidObjectId);
    expect(badId.message).toContain('"has space"');
    const tooLong = await failure(a.call('counter', 'x'.repeat(500), 'increment', null));
    expect(tooLong).toBeInstanceOf(InvalidObjectId);
    expect(await zk.exists(new Keyspace(c.root).typePath('counter'))).toBeNull(); // nothing reached ZooKeeper

    const unknown = await failure(a.call('counter', 'c1', 'frobnicate', null));
    expect(unknown).toBeInstanceOf(UnknownHandler);
    expect(unknown.message).toContain("'frobnicate'");

    await a.call('counter', 'c1', 'add', 5);
    const store = storeFor(c);
    const before = await store.read('counter', 'c1');
    const big = await failure(a.call('counter', 'c1', 'grow', 100 * 1024));
    expect(big).toBeInstanceOf(StateTooLarge);
    expect(big.message).toContain('limit of 65536 bytes');
    const thrown = await failure(a.call('counter', 'c1', 'explode', null));
    expect(thrown.code).toBe('HANDLER_FAILED');
    expect(await a.call('counter', 'c1', 'value')).toBe(5);
    const bigPut = await failure(a.put('counter', 'c1', { value: 1, padding: 'y'.repeat(100 * 1024) }));
    expect(bigPut).toBeInstanceOf(StateTooLarge);
    const after = await store.read('counter', 'c1');
    await store.close();
    expect(after!.etag).toBe(before!.etag);
    expect(after!.version).toBe(before!.version);
  });

  it('a call that cannot complete in time fails with CallTimeout', async () => {
    const c = config('timeout');
    cluster = await Cluster.start(c, 3);
    const a = cluster.nodes[0]!;
    const slow = a.call('counter', 'slow', 'slowIncrement', timing.slowHandlerMs);
    const timedOut = await failure(a.call('counter', 'slow', 'increment', null, timing.giveUpMs));
    expect(timedOut).toBeInstanceOf(CallTimeout);
    expect(await slow).toBe(1);
    // The timed-out call never ran: it had not started when its caller gave up.
    expect(await a.call('counter', 'slow', 'value')).toBe(1);
  });
});
