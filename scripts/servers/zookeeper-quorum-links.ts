import { FaultProxy, type FaultRule, type OpeningRewrite } from './fault-proxy.js';

/**
 * The links between the servers of a ZooKeeper ensemble, each through a loopback fault proxy of its
 * own, so that a test can cut a server off from the others (a partition of the ensemble) while every
 * JVM keeps running.
 *
 * Server `i` reaches server `j` at the proxies `i→j` (one for the quorum port, one for the election
 * port): each server's `zoo.cfg` names its own ports for itself and its proxies for the others (a
 * static configuration need not be the same on every server; ZooKeeper only compares configuration
 * versions, which stay 0 without dynamic reconfiguration).
 *
 * One thing would bypass the proxies: when server `i` opens an election connection to a server with a
 * higher id, its opening message (protocol version, its id, its own election address) makes the other
 * side close that connection and dial back to the *announced* address — `i`'s own port. The election
 * proxy `i→j` therefore rewrites that address to the proxy `j→i`, so the dial-back crosses the link
 * it belongs to.
 *
 * Opening message (ZooKeeper 3.5+, QuorumCnxManager.InitialMessage): int64 protocol version (−65536,
 * or −65535 with multiple addresses), int64 server id, int32 length, that many bytes of
 * `host:port[|host:port…]`. A non-negative first int64 is the pre-3.5 opening (the id alone, no
 * address) and passes unchanged.
 */

export interface ServerPorts {
  quorumPort: number;
  electionPort: number;
}

/** The announced address is at most this long; a longer length field means a stream we do not understand. */
const MAX_ADDRESS_BYTES = 4096;
const HEADER_BYTES = 20;

/**
 * Rewrites the address in ZooKeeper's election opening message to `address`; undefined while the
 * message is incomplete. Throws on a length field no ZooKeeper sends.
 */
export function rewriteElectionOpening(opening: Buffer, address: string): OpeningRewrite | undefined {
  if (opening.length < 8) return undefined;
  if (opening.readBigInt64BE(0) >= 0n) return { consumed: 0, replacement: Buffer.alloc(0) };
  if (opening.length < HEADER_BYTES) return undefined;
  const length = opening.readInt32BE(16);
  if (length < 0 || length > MAX_ADDRESS_BYTES) throw new Error(`election opening announces an address of ${length} bytes`);
  if (opening.length < HEADER_BYTES + length) return undefined;
  const replacementAddress = Buffer.from(address, 'utf8');
  const header = Buffer.from(opening.subarray(0, HEADER_BYTES));
  header.writeInt32BE(replacementAddress.length, 16);
  return { consumed: HEADER_BYTES + length, replacement: Buffer.concat([header, replacementAddress]) };
}

interface Link {
  quorum: FaultProxy;
  election: FaultProxy;
}

export class QuorumLinks {
  readonly #links: Map<string, Link>;

  private constructor(links: Map<string, Link>) {
    this.#links = links;
  }

  /** Starts the proxies of every ordered pair of servers; `ports(id)` are the ports server `id` listens on. */
  static async start(ids: readonly number[], ports: (id: number) => ServerPorts): Promise<QuorumLinks> {
    const links = new Map<string, Link>();
    const started: FaultProxy[] = [];
    try {
      for (const from of ids) {
        for (const to of ids) {
          if (from === to) continue;
          const target = ports(to);
          const quorum = await FaultProxy.start({ name: `zk${from}→zk${to} quorum`, target: { host: '127.0.0.1', port: target.quorumPort } });
          started.push(quorum);
          const election = await FaultProxy.start({
            name: `zk${from}→zk${to} election`,
            target: { host: '127.0.0.1', port: target.electionPort },
            // `to` dials back through its own link to `from`, which exists by the time anyone connects.
            rewriteOpening: (opening) => rewriteElectionOpening(opening, links.get(key(to, from))!.election.address),
          });
          started.push(election);
          links.set(key(from, to), { quorum, election });
        }
      }
    } catch (error) {
      await Promise.all(started.map((proxy) => proxy.close()));
      throw error;
    }
    return new QuorumLinks(links);
  }

  /** Where server `from` reaches server `to`. */
  portsFor(from: number, to: number): ServerPorts {
    const link = this.#link(from, to);
    return { quorumPort: link.quorum.port, electionPort: link.election.port };
  }

  /** Cuts server `id` off from every other server, both ways (`blackhole` unless another rule is given). */
  isolate(id: number, rule: FaultRule = { mode: 'blackhole' }): void {
    let found = false;
    for (const [name, link] of this.#links) {
      const [from, to] = name.split('→').map(Number);
      if (from !== id && to !== id) continue;
      found = true;
      link.quorum.set(rule);
      link.election.set(rule);
    }
    if (!found) throw new Error(`ZooKeeper: no server ${id} to isolate`);
  }

  /** Every link passes again. */
  heal(): void {
    for (const link of this.#links.values()) {
      for (const proxy of [link.quorum, link.election]) {
        proxy.clear();
        proxy.set({ mode: 'pass', resetBroken: true });
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#links.values()].flatMap((link) => [link.quorum.close(), link.election.close()]));
  }

  #link(from: number, to: number): Link {
    const link = this.#links.get(key(from, to));
    if (!link) throw new Error(`ZooKeeper: no link from server ${from} to server ${to}`);
    return link;
  }
}

const key = (from: number, to: number) => `${from}→${to}`;
