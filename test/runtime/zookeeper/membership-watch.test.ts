import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { uniqueRoot } from '../../../scripts/cluster.js';
import { FaultProxy } from '../../../scripts/servers/fault-proxy.js';
import type { MemberInfo } from '@highlander/runtime';
import { CreateMode, MembershipWatch, ZkSession } from '@highlander/runtime/zookeeper';
import { zookeeperConnect } from '../../harness/servers.js';
import { closeSessionFor } from '../../harness/session-expiry.js';
import { timing } from '../../harness/timing.js';

/**
 * The one membership watch of the runtime and the admin API, against the real ZooKeeper of the
 * harness: members joining, changing and leaving, refreshes coalesced, a failed listing retried,
 * unreadable member znodes left out, and the watches armed again after the session is renewed.
 */

let raw: ZkSession;
const sessions: ZkSession[] = [];
const watches: MembershipWatch[] = [];

beforeAll(async () => {
  raw = await ZkSession.open({ connect: zookeeperConnect() });
});

afterAll(() => raw.close());

const proxies: FaultProxy[] = [];

afterEach(async () => {
  for (const watch of watches.splice(0)) watch.stop();
  for (const session of sessions.splice(0)) session.close();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

/** A proxy in front of the harness's ZooKeeper, so a test can cut one session's path. */
async function zookeeperProxy(): Promise<FaultProxy> {
  const [server, ...more] = zookeeperConnect().split(',');
  const [, host, port] = /^(.*):(\d+)$/.exec(server ?? '') ?? [];
  if (more.length > 0 || host === undefined) throw new Error(`expected one ZooKeeper server, got '${zookeeperConnect()}'`);
  const proxy = await FaultProxy.start({ name: 'session→zookeeper', target: { host, port: Number(port) } });
  proxies.push(proxy);
  return proxy;
}

function member(name: string, overrides: Partial<MemberInfo> = {}): MemberInfo {
  return { name, address: `ws://127.0.0.1:1/${name}`, pid: 1, startedAt: 1, activations: 0, draining: false, ...overrides };
}

/** Creates `<root>/nodes/<name>` as an ephemeral znode of the raw session. */
async function join(root: string, info: MemberInfo): Promise<void> {
  await raw.create(`${root}/nodes/${info.name}`, Buffer.from(JSON.stringify(info)), CreateMode.EPHEMERAL);
}

/** A watch on its own session, recording every delivery and error. */
async function watching(root: string, { connect = zookeeperConnect(), ...options }: { connect?: string; retry?: { initialMs: number; maxMs: number } } = {}) {
  const session = await ZkSession.open({ connect, sessionTimeoutMs: timing.sessionTimeoutMs });
  sessions.push(session);
  const deliveries: MemberInfo[][] = [];
  const errors: unknown[] = [];
  const watch = new MembershipWatch(session, {
    root, onMembers: (members) => deliveries.push(members), onError: (err) => errors.push(err), ...options,
  });
  watches.push(watch);
  const names = () => deliveries.at(-1)?.map((m) => m.name) ?? [];
  return { session, watch, deliveries, errors, names };
}

describe('MembershipWatch', () => {
  it('delivers the members, then every join, change and leave (the watches are re-armed each time)', async () => {
    const root = uniqueRoot('membership');
    await raw.mkdirp(`${root}/nodes`);
    await join(root, member('node-b'));
    await join(root, member('node-a'));
    const { watch, deliveries, names } = await watching(root);
    await watch.start();
    expect(names()).toEqual(['node-a', 'node-b']);
    expect(watch.members.map((m) => m.name)).toEqual(['node-a', 'node-b']);

    await join(root, member('node-c'));
    await vi.waitFor(() => expect(names()).toEqual(['node-a', 'node-b', 'node-c']), timing.eventMs);

    await raw.setData(`${root}/nodes/node-b`, Buffer.from(JSON.stringify(member('node-b', { draining: true }))));
    await vi.waitFor(() => expect(deliveries.at(-1)?.find((m) => m.name === 'node-b')?.draining).toBe(true), timing.eventMs);
    await raw.setData(`${root}/nodes/node-b`, Buffer.from(JSON.stringify(member('node-b', { activations: 7 }))));
    await vi.waitFor(() => expect(deliveries.at(-1)?.find((m) => m.name === 'node-b')?.activations).toBe(7), timing.eventMs);

    await raw.remove(`${root}/nodes/node-a`);
    await vi.waitFor(() => expect(names()).toEqual(['node-b', 'node-c']), timing.eventMs);
    await raw.remove(`${root}/nodes/node-c`);
    await vi.waitFor(() => expect(names()).toEqual(['node-b']), timing.eventMs);
  });

  it('coalesces refreshes asked for while one runs into one more listing', async () => {
    const root = uniqueRoot('membership-coalesce');
    await raw.mkdirp(`${root}/nodes`);
    await join(root, member('node-a'));
    const { session, watch, deliveries } = await watching(root);
    await watch.start();
    const listings = vi.spyOn(session, 'getChildren');
    const refreshes = [watch.refresh(), watch.refresh(), watch.refresh(), watch.refresh(), watch.refresh()];
    await Promise.all(refreshes);
    expect(listings).toHaveBeenCalledTimes(2);
    expect(deliveries).toHaveLength(3);
  });

  it('retries a failed listing with backoff until it succeeds, and reports the failure', async () => {
    const root = uniqueRoot('membership-retry');
    const { watch, errors, names, deliveries } = await watching(root, { retry: { initialMs: 20, maxMs: 200 } });
    // No <root>/nodes yet: the first listing fails, start() still resolves.
    await watch.start();
    expect(deliveries).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    await raw.mkdirp(`${root}/nodes`);
    await join(root, member('node-a'));
    await vi.waitFor(() => expect(names()).toEqual(['node-a']), timing.eventMs);
  });

  it('leaves out a member znode without member info, and says so', async () => {
    const root = uniqueRoot('membership-garbage');
    await raw.mkdirp(`${root}/nodes`);
    await join(root, member('node-a'));
    await raw.create(`${root}/nodes/garbage`, Buffer.from('not json'), CreateMode.EPHEMERAL);
    const { watch, errors, names } = await watching(root);
    await watch.start();
    expect(names()).toEqual(['node-a']);
    expect(String(errors[0])).toMatch(/nodes\/garbage holds no member info/);
  });

  it('arms its watches again after the session expires and is renewed', async () => {
    const root = uniqueRoot('membership-renewed');
    await raw.mkdirp(`${root}/nodes`);
    await join(root, member('node-a'));
    const proxy = await zookeeperProxy();
    const { session, watch, deliveries, names } = await watching(root, { connect: proxy.address });
    await watch.start();
    const renewed = new Promise<void>((resolve) => session.once('renewed', () => resolve()));
    const before = deliveries.length;
    await expireSession(session, proxy);
    await renewed;
    // Listed afresh on the new session.
    await vi.waitFor(() => expect(deliveries.length).toBeGreaterThan(before), timing.eventMs);
    // Changes after the renewal are seen: the watches are armed on the new session.
    await join(root, member('node-b'));
    await vi.waitFor(() => expect(names()).toEqual(['node-a', 'node-b']), timing.eventMs);
  });

  it('delivers nothing after stop()', async () => {
    const root = uniqueRoot('membership-stop');
    await raw.mkdirp(`${root}/nodes`);
    const { session, watch, deliveries } = await watching(root);
    await watch.start();
    watch.stop();
    const listings = vi.spyOn(session, 'getChildren');
    await watch.refresh();
    expect(listings).not.toHaveBeenCalled();
    expect(deliveries).toHaveLength(1);
  });
});

/**
 * Expires `session` for sure: its connection runs through `proxy`, which is cut while a second client
 * opens the session with its id and password and closes it; healed, the victim finds it expired.
 */
async function expireSession(session: ZkSession, proxy: FaultProxy): Promise<void> {
  let expired = false;
  session.once('expired', () => (expired = true));
  proxy.set({ mode: 'blackhole' });
  await closeSessionFor(zookeeperConnect(), { ...session.credentials, timeoutMs: session.negotiatedTimeoutMs });
  proxy.set({ mode: 'pass' });
  await vi.waitFor(() => expect(expired, 'the victim saw its session expire').toBe(true), timing.eventMs);
}
