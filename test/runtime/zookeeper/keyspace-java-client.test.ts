import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forEachBounded } from '@highlander/kit';
import { MAX_OBJECT_ID_LENGTH, ZooKeeperCoordinator } from '@highlander/runtime';
import { CreateMode, Keyspace, ZkSession, bucketOf } from '@highlander/runtime/zookeeper';
import { startZooKeeper, type ZooKeeperCluster } from '../../../scripts/servers/zookeeper.js';
import { timing } from '../../harness/timing.js';

/**
 * ZooKeeper's own Java client (Debian's `zkCli.sh`, as operators and Curator-based tools use it) against
 * a 3-server loopback ensemble with stock settings: it lists the fullest bucket of a type holding the lock
 * parents of 6,000 objects with ids of the longest allowed length. The same 6,000 names under one
 * parent (the layout before buckets) make a 1.2 MB reply, which the Java client refuses.
 */

const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';
const OBJECTS = 6000;
const TYPE = 'doc';

let zookeeper: ZooKeeperCluster;
let session: ZkSession;
let coordinator: ZooKeeperCoordinator;
const root = `/java-client-${process.pid}`;
const keyspace = new Keyspace(root);

/** Object `i`'s id: as long as ids may be (200 characters), so each child costs the most bytes in a listing. */
const idOf = (i: number) => `${String(i).padStart(6, '0')}-`.padEnd(MAX_OBJECT_ID_LENGTH, 'x');

beforeAll(async () => {
  zookeeper = await startZooKeeper({ servers: 3 });
  session = await ZkSession.open({ connect: zookeeper.connectString, requestTimeoutMs: timing.harnessRequestMs });
  coordinator = new ZooKeeperCoordinator({ connect: zookeeper.connectString, root, sessionTimeoutMs: timing.sessionTimeoutMs, requestTimeoutMs: timing.harnessRequestMs });
  await coordinator.start({ name: 'node-a', address: 'ws://127.0.0.1:1', pid: process.pid, startedAt: Date.now(), activations: 0, draining: false });
});

afterAll(async () => {
  await coordinator?.stop();
  session?.close();
  await zookeeper?.stop();
});

/**
 * Runs `zkCli.sh -server <ensemble> ls <path>`; settles on its exit, or once it reports the connection lost
 * (after a reply it cannot read: `Packet len … is out of range`, which only its log shows; it would go on reconnecting).
 */
function zkCliLs(path: string): Promise<{ output: string; exitCode: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ZKCLI, ['-server', zookeeper.connectString, 'ls', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zkCli.sh ls ${path} gave no answer within ${timing.javaClientMs} ms:\n${output.slice(-2000)}`));
    }, timing.javaClientMs);
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (/KeeperErrorCode = ConnectionLoss|Packet len\s*\d+ is out of range/.test(output)) child.kill('SIGKILL');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ output, exitCode });
    });
  });
}

/** The names zkCli.sh printed for `ls`: its one `[a, b, …]` line. */
function listed(output: string): string[] | null {
  const line = output.split('\n').find((l) => /^\[.*\]$/.test(l.trim()));
  if (line === undefined) return null;
  const inner = line.trim().slice(1, -1);
  return inner === '' ? [] : inner.split(', ');
}

it('the Java client lists the fullest bucket of a type holding 6,000 lock parents, and not the same names under one parent', async () => {
  expect(existsSync(ZKCLI), `${ZKCLI} (Debian's zookeeper package)`).toBe(true);
  const ids = Array.from({ length: OBJECTS }, (_, i) => idOf(i));
  // Each object's lock parent and lock, by the runtime's lock recipe.
  await forEachBounded(ids, 64, async (id) => {
    const result = await coordinator.acquire(TYPE, id, { wait: false, timeoutMs: timing.harnessRequestMs });
    expect(result.acquired).toBe(true);
  });
  const perBucket = new Map<string, string[]>();
  for (const id of ids) perBucket.set(bucketOf(id), [...(perBucket.get(bucketOf(id)) ?? []), id]);
  const [fullest, itsIds] = [...perBucket].sort((a, b) => b[1].length - a[1].length)[0]!;
  expect(await session.getChildren(keyspace.bucketPath(TYPE, fullest))).toHaveLength(itsIds.length);

  const bucketListing = await zkCliLs(keyspace.bucketPath(TYPE, fullest));
  expect(listed(bucketListing.output), bucketListing.output.slice(-2000)).toEqual([...itsIds].sort());
  const typeListing = await zkCliLs(keyspace.typePath(TYPE));
  expect(listed(typeListing.output)?.sort(), typeListing.output.slice(-2000)).toEqual([...perBucket.keys()].sort());

  // The layout before buckets: the same names as children of one parent, over 1 MB in one reply.
  const flat = `${root}/flat`;
  await session.mkdirp(flat);
  const batches = Array.from({ length: OBJECTS / 200 }, (_, b) => ids.slice(b * 200, b * 200 + 200));
  await forEachBounded(batches, 8, (batch) => session.multi(flat, (tx) => {
    for (const id of batch) tx.create(`${flat}/${id}`, CreateMode.PERSISTENT);
  }).then(() => undefined));
  const names = await session.getChildren(flat);
  expect(names).toHaveLength(OBJECTS); // node-zookeeper-client reads it…
  expect(20 + names.reduce((bytes, name) => bytes + 4 + name.length, 0)).toBeGreaterThan(0xfffff); // …over the Java client's limit…
  const flatListing = await zkCliLs(flat);
  expect(flatListing.output).toContain(`KeeperErrorCode = ConnectionLoss for ${flat}`); // …which fails it
  expect(listed(flatListing.output)).toBeNull();
});
