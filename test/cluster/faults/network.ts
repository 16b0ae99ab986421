import type { NodeProcessOptions } from '../../../scripts/cluster.js';
import { FaultProxy, type FaultRule, type FlapOptions } from '../../../scripts/servers/fault-proxy.js';
import { freePorts } from '../../../scripts/servers/free-port.js';
import type { ZooKeeperCluster } from '../../../scripts/servers/zookeeper.js';

/**
 * The fault suite's network: every node process reaches each ZooKeeper server, S3 and each of its
 * peers through loopback TCP proxies of its own (scripts/servers/fault-proxy.ts), so a test can cut
 * one path while the processes on both sides keep running.
 *
 * Node `i` (0-based) binds `127.0.0.<10+i>:<port>` and advertises `127.0.1.<10+i>:<port>`, where its
 * inbound proxy listens; peers connect to it from their own bind address (the runtime's peer client
 * binds its outgoing sockets to the node's host), so the inbound proxy tells the callers apart and a
 * rule `{ from }` cuts one caller only. Its ZooKeeper client connects to one proxy per ZooKeeper
 * server, its S3 client to one proxy in front of radosgw. Everything stays on 127.0.0.0/8.
 *
 *   node-b ──(from 127.0.0.11)──▶ [inbound of node-a 127.0.1.10:P] ──▶ node-a 127.0.0.10:P
 *   node-a ──▶ [node-a→zk1] [node-a→zk2] [node-a→zk3] ──▶ ZooKeeper ensemble
 *   node-a ──▶ [node-a→s3] ──▶ radosgw
 */

/** The paths of one node that a test can break. */
export type NetPath = 'zookeeper' | 'store' | 'peers';

export interface NodeNet {
  readonly name: string;
  /** The address the node binds and connects to its peers from. */
  readonly host: string;
  /** The address it advertises (its inbound proxy's). */
  readonly advertiseHost: string;
  readonly port: number;
  /** One per ZooKeeper server, in the order of the ensemble's servers. */
  readonly zookeeper: readonly FaultProxy[];
  readonly store: FaultProxy;
  /** In front of the node: every peer's connections to it. */
  readonly inbound: FaultProxy;
}

export class FaultNet {
  readonly #nodes = new Map<string, NodeNet>();

  private constructor(nodes: NodeNet[]) {
    for (const node of nodes) this.#nodes.set(node.name, node);
  }

  /** Starts the proxies of every node; `s3Endpoint` is `http://127.0.0.1:<port>`. */
  static async start(names: readonly string[], zookeeper: ZooKeeperCluster, s3Endpoint: string): Promise<FaultNet> {
    const s3 = new URL(s3Endpoint);
    if (s3.hostname !== '127.0.0.1') throw new Error(`FaultNet: S3 must be on 127.0.0.1, got ${s3Endpoint}`);
    const ports = await freePorts(names.length);
    const started: FaultProxy[] = [];
    const proxy = async (name: string, host: string, port: number, listenHost = '127.0.0.1', listenPort = 0) => {
      const p = await FaultProxy.start({ name, target: { host, port }, listenHost, listenPort });
      started.push(p);
      return p;
    };
    try {
      const nodes: NodeNet[] = [];
      for (const [i, name] of names.entries()) {
        const host = `127.0.0.${10 + i}`;
        const advertiseHost = `127.0.1.${10 + i}`;
        const port = ports[i]!;
        const zk: FaultProxy[] = [];
        for (const server of zookeeper.servers) zk.push(await proxy(`${name}→zk${server.id}`, '127.0.0.1', server.clientPort));
        const store = await proxy(`${name}→s3`, '127.0.0.1', Number(s3.port));
        const inbound = await proxy(`→${name}`, host, port, advertiseHost, port);
        nodes.push({ name, host, advertiseHost, port, zookeeper: zk, store, inbound });
      }
      return new FaultNet(nodes);
    } catch (err) {
      await Promise.all(started.map((p) => p.close()));
      throw err;
    }
  }

  node(name: string): NodeNet {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`FaultNet: no node ${name} (${[...this.#nodes.keys()].join(', ')})`);
    return node;
  }

  /** The environment that points a node process at its proxies. */
  options(name: string): NodeProcessOptions {
    const node = this.node(name);
    return {
      env: {
        HIGHLANDER_HOST: node.host,
        HIGHLANDER_PORT: String(node.port),
        HIGHLANDER_ADVERTISE_HOST: node.advertiseHost,
        HIGHLANDER_ZK: node.zookeeper.map((p) => `127.0.0.1:${p.port}`).join(','),
        HIGHLANDER_S3_ENDPOINT: `http://127.0.0.1:${node.store.port}`,
      },
    };
  }

  /**
   * Puts one path of a node under `rule`: `zookeeper` (every ZooKeeper server), `store`, or `peers`
   * (both ways: the node's inbound proxy for every caller, and every other node's inbound proxy for
   * calls from this node). For `peers`, `drop-replies` means: requests reach the other side, answers
   * are lost, in both directions of calling.
   */
  cut(name: string, path: NetPath, rule: FaultRule = { mode: 'blackhole' }): void {
    for (const { proxy, from } of this.#proxiesOf(name, path)) proxy.set(rule, from === undefined ? {} : { from });
  }

  /** Cuts the path to one ZooKeeper server only (by its id). */
  cutZooKeeperServer(name: string, serverId: number, rule: FaultRule = { mode: 'blackhole' }): void {
    const node = this.node(name);
    const proxy = node.zookeeper[serverId - 1];
    if (!proxy) throw new Error(`FaultNet: no ZooKeeper server ${serverId}`);
    proxy.set(rule);
  }

  /** Cuts and restores one path every periodMs/2 for durationMs (see FaultProxy.flap). */
  async flap(name: string, path: NetPath, options: Omit<FlapOptions, 'from'>): Promise<void> {
    await Promise.all(this.#proxiesOf(name, path).map(({ proxy, from }) => proxy.flap({ ...options, ...(from === undefined ? {} : { from }) })));
  }

  /** Every path of every node passes again; connections that lost bytes under a `drop-*` rule are reset. */
  heal(): void {
    for (const proxy of this.#all()) {
      proxy.clear();
      proxy.set({ mode: 'pass', resetBroken: true });
    }
  }

  /** Bytes each proxy forwarded and discarded, for a test to show that a fault really cut traffic. */
  stats(name: string, path: NetPath): { forwarded: number; discarded: number } {
    let forwarded = 0;
    let discarded = 0;
    for (const { proxy } of this.#proxiesOf(name, path)) {
      const s = proxy.stats;
      forwarded += s.forwarded.requests + s.forwarded.replies;
      discarded += s.discarded.requests + s.discarded.replies;
    }
    return { forwarded, discarded };
  }

  async close(): Promise<void> {
    await Promise.all(this.#all().map((p) => p.close()));
  }

  #proxiesOf(name: string, path: NetPath): Array<{ proxy: FaultProxy; from?: string }> {
    const node = this.node(name);
    if (path === 'zookeeper') return node.zookeeper.map((proxy) => ({ proxy }));
    if (path === 'store') return [{ proxy: node.store }];
    return [
      { proxy: node.inbound },
      ...[...this.#nodes.values()].filter((n) => n !== node).map((n) => ({ proxy: n.inbound, from: node.host })),
    ];
  }

  #all(): FaultProxy[] {
    return [...this.#nodes.values()].flatMap((n) => [...n.zookeeper, n.store, n.inbound]);
  }
}
