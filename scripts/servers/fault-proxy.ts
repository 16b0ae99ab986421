/**
 * A TCP proxy on loopback that tests put on one network path ("node-a → ZooKeeper server 2",
 * "node-a → S3", "node-b → node-a") and drive to break that path in chosen ways. Clients connect to
 * {@link FaultProxy.address} instead of the target; each accepted connection gets its own connection
 * to the target, and the proxy's current rule decides what crosses between the two.
 *
 * @example
 * const proxy = await FaultProxy.start({ name: 'node-a→zk1', target: { host: '127.0.0.1', port } });
 * // …point the client at proxy.address…
 * proxy.set({ mode: 'blackhole' });   // a partition
 * proxy.set({ mode: 'pass' });        // healed: what was sent meanwhile arrives, in order
 * await proxy.close();
 *
 * ## What each mode means, and why
 *
 * The two directions of a connection are *requests* (client → target) and *replies* (target → client).
 * A proxy cannot drop packets (the kernel has acknowledged every byte it reads), so each mode is chosen
 * to look, to the applications at both ends, like something a real network does, and to keep TCP's
 * promise (every byte once, in order) wherever a real network would keep it:
 *
 * - `pass`: bytes, half-closes (FIN) and resets (RST) cross as they come, with backpressure: the proxy
 *   reads from one side only as fast as the other side takes the bytes.
 * - `blackhole` — a partition. Nothing crosses either way: no bytes, no FIN, no RST. The proxy simply
 *   stops reading from both sockets, so the bytes stay in the senders' socket buffers and, once those
 *   are full, the senders' writes block — exactly what a peer whose packets are dropped (and so never
 *   acknowledged) looks like. Nothing is lost: on heal everything sent meanwhile is delivered in order,
 *   which is what TCP's retransmissions deliver after a real partition heals. Connections stay open
 *   (no error, no close: clients see timeouts). New connections are accepted, but the proxy does not
 *   connect them to the target until the path heals (their SYN "is retransmitted"); the client sees
 *   its connect succeed — the one thing a proxy cannot hide — and then silence. No proxy-side buffer
 *   is involved, so there is no bound to hit: the kernel's buffers and the senders' blocked writes
 *   are the bound, as on a real network.
 * - `stall` — "a GC pause of the network". The proxy keeps reading from both sides (the senders'
 *   writes complete, as if a router queued the packets) and holds the bytes, FINs and RSTs, in order,
 *   until the next `set()` for the connection's source; then it delivers them in order under the new
 *   rule. New connections are accepted and held unconnected like under `blackhole`. What is held is
 *   bounded ({@link FaultProxyOptions.maxHeldBytes} per direction of each connection); a connection
 *   that exceeds the bound is reset at both ends (counted in `stats.overflowed`), since silently losing
 *   bytes would corrupt the stream.
 * - `delay` — every chunk, FIN and RST is delivered `delayMs` after the proxy read it, order kept in
 *   each direction. Held bytes count against the same bound as `stall`. Connection setup itself is not
 *   delayed.
 * - `drop-requests` / `drop-replies` — one-way loss: that direction's bytes are read and discarded
 *   (counted in `stats.discarded`); the other direction passes. This is the one mode that loses bytes,
 *   which no real TCP connection does (it would retransmit them or die): it models an application-level
 *   black hole (a peer that reads and ignores), and a connection that lost bytes is broken for any
 *   protocol with framing. Such connections are marked (`lostBytes` in {@link FaultProxy.connections})
 *   and `set({ mode: 'pass', resetBroken: true })` resets them when the loss ends. A FIN or RST in the
 *   dropped direction is held rather than dropped, and delivered when that direction passes again
 *   (otherwise a connection could never close). Bytes held by an earlier `stall` or `delay` in that
 *   direction are discarded too: they would have crossed after the loss began. New connections are
 *   connected to the target at once.
 * - `reset` — every connection is reset at once (RST to both ends) and each new one is reset as soon
 *   as it is accepted (the client sees ECONNRESET), until another mode is set. The listening socket
 *   stays open, so the port cannot be taken by someone else meanwhile.
 *
 * When the target refuses or resets the proxy's connection, the client's connection is reset — the
 * reset being one more thing that crosses the replies direction as the rule allows. When the client
 * resets, the target's connection is reset likewise through the requests direction.
 *
 * A rule applies to every connection, or with `{ from }` only to connections whose remote address is
 * that source: one proxy in front of a node can serve several peers that each connect from their own
 * loopback address (`localAddress: '127.0.0.5'`) and be cut for one of them only. `flap()` alternates
 * a cut and `pass` for a while. `stats` counts connections and bytes; events (`rule`, `connection`,
 * `refused`, `close`, `warning`) let a test observe what the proxy did without measuring time.
 *
 * The proxy only listens on and connects to loopback addresses (127.0.0.0/8, ::1). It never emits
 * `'error'`: whatever a peer does (reset, refuse, vanish), the test process keeps running.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultProxyError } from './errors.js';

/** 16 MiB: how much a connection may hold in each direction under `stall` and `delay`. */
const DEFAULT_MAX_HELD_BYTES = 16 * 1024 * 1024;
/** How many opening bytes {@link FaultProxyOptions.rewriteOpening} may ask for before the connection is given up. */
const MAX_OPENING_BYTES = 64 * 1024;

/** The rule a path follows; see the top of this file for what each mode means. */
export type FaultRule =
  | {
      mode: 'pass';
      /** Reset the connections (of this rule's scope) that lost bytes under `drop-requests`/`drop-replies`. @default false */
      resetBroken?: boolean;
    }
  | { mode: 'blackhole' }
  | { mode: 'stall' }
  | { mode: 'delay'; delayMs: number }
  | { mode: 'drop-requests' }
  | { mode: 'drop-replies' }
  | { mode: 'reset' };

export type FaultMode = FaultRule['mode'];

/** Where a rule applies: one source address, or (no `from`) every source without a rule of its own. */
export interface FaultScope {
  /** A client's remote address, e.g. `127.0.0.5`. */
  from?: string;
}

export interface FaultProxyTarget {
  /** A loopback address literal (127.0.0.0/8 or ::1). */
  host: string;
  port: number;
}

/** What {@link FaultProxyOptions.rewriteOpening} returns once it has seen enough of the opening. */
export interface OpeningRewrite {
  /** How many of the opening bytes it replaces (0: none, the opening passes unchanged). */
  consumed: number;
  /** What the target receives instead of them. */
  replacement: Buffer;
}

export interface FaultProxyOptions {
  /** Names the path in errors and events, e.g. `node-a→zk1`. */
  name: string;
  /** Where connections are forwarded. */
  target: FaultProxyTarget;
  /** A loopback address literal to listen on. @default '127.0.0.1' */
  listenHost?: string;
  /** @default 0 (a free port) */
  listenPort?: number;
  /** What one direction of one connection may hold under `stall` and `delay` before it is reset. @default 16 MiB */
  maxHeldBytes?: number;
  /**
   * Rewrites the first bytes each client sends, before any rule sees them: for protocols whose
   * handshake names an address that the other end dials back, which must be a proxy too (ZooKeeper's
   * leader election announces the connecting server's own address). Called with everything the client
   * sent so far until it returns something; `undefined` asks for more bytes. A connection whose client
   * sends 64 KiB without an answer, or whose rewrite throws, is reset (and a `warning` emitted).
   * @default undefined (nothing rewritten)
   */
  rewriteOpening?: (opening: Buffer) => OpeningRewrite | undefined;
}

export interface FlapOptions {
  /** One cut and one restore: the path is cut for periodMs/2, then passes for periodMs/2, and so on. */
  periodMs: number;
  /** How the path is cut. */
  cut: 'blackhole' | 'reset';
  /** How long the flapping goes on; then the path passes again and the promise resolves. */
  durationMs: number;
  /** Flap only this source's connections (see {@link FaultScope}). */
  from?: string;
  /** Ends the flapping early (the path passes again and the promise resolves). */
  signal?: AbortSignal;
}

/** Bytes per direction. */
export interface FlowBytes {
  /** client → target */
  requests: number;
  /** target → client */
  replies: number;
}

export interface FaultProxyStats {
  /** Connections accepted since start, refused ones included. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections reset on arrival under `reset`. */
  refused: number;
  /** Open connections the proxy reset: `reset`, `resetBroken`, an overflow, a failed opening rewrite. */
  resetByProxy: number;
  /** Connections reset because a direction held more than `maxHeldBytes`. */
  overflowed: number;
  /** Bytes delivered. */
  forwarded: FlowBytes;
  /** Bytes read and thrown away (`drop-*`, or a destination that was gone). */
  discarded: FlowBytes;
  /** Bytes held right now (`stall`, `delay`, or waiting for a congested destination). */
  held: FlowBytes;
}

/** How a connection ended, in the `close` event. */
export type ConnectionEndReason =
  /** Both sides closed (FIN, or an RST from one of them that crossed). */
  | 'closed'
  /** The proxy reset it: `reset` mode, `resetBroken`, or a failed opening rewrite. */
  | 'reset'
  /** A direction held more than `maxHeldBytes`. */
  | 'overflow'
  /** The target refused the proxy's connection or was unreachable. */
  | 'target unreachable'
  /** close() of the proxy. */
  | 'proxy closed';

export interface ConnectionInfo {
  readonly id: number;
  /** The client's remote address. */
  readonly from: string;
  /** Whether the proxy has connected it to the target (not yet under `blackhole`/`stall` since arrival). */
  readonly connected: boolean;
  /** Bytes this connection lost under `drop-*`: non-zero means its streams are broken. */
  readonly lostBytes: number;
  readonly held: FlowBytes;
}

export interface FaultProxyEventMap {
  /** A rule was set (by set(), clear() or a flap step); `from` is undefined for the default rule. */
  rule: [change: { rule: FaultRule; from: string | undefined }];
  /** A connection was accepted (not refused). */
  connection: [info: { id: number; from: string }];
  /** A connection was reset on arrival under `reset`. */
  refused: [info: { from: string }];
  /** A connection ended (both of its sockets are closed). */
  close: [info: { id: number; from: string; reason: ConnectionEndReason }];
  /** Something went wrong that is not a test failure by itself (a rewrite threw, the listener failed). */
  warning: [error: Error];
}

type Direction = 'requests' | 'replies';

interface CompiledOptions {
  name: string;
  target: Readonly<FaultProxyTarget>;
  listenHost: string;
  listenPort: number;
  maxHeldBytes: number;
  rewriteOpening: ((opening: Buffer) => OpeningRewrite | undefined) | undefined;
}

/** The proxy's counters (held bytes are summed over connections when read). */
interface Counters {
  accepted: number;
  refused: number;
  resetByProxy: number;
  overflowed: number;
  forwarded: FlowBytes;
  discarded: FlowBytes;
}

const PASS: FaultRule = Object.freeze({ mode: 'pass' });
const MODES: readonly FaultMode[] = ['pass', 'blackhole', 'stall', 'delay', 'drop-requests', 'drop-replies', 'reset'];

/**
 * One loopback TCP proxy on one network path. Start it with {@link FaultProxy.start}; see the top of
 * this file for the semantics of each mode.
 */
export class FaultProxy extends EventEmitter<FaultProxyEventMap> {
  readonly name: string;
  readonly target: Readonly<FaultProxyTarget>;
  /** The address clients connect to instead of the target. */
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[::1]:port` for IPv6), where clients connect instead of the target. */
  readonly address: string;

  readonly #server: Server;
  readonly #options: CompiledOptions;
  readonly #connections = new Set<ProxiedConnection>();
  readonly #sourceRules = new Map<string, FaultRule>();
  readonly #counters: Counters = {
    accepted: 0, refused: 0, resetByProxy: 0, overflowed: 0,
    forwarded: { requests: 0, replies: 0 },
    discarded: { requests: 0, replies: 0 },
  };
  #defaultRule: FaultRule = PASS;
  #nextId = 1;
  #flap: { from: string | undefined; controller: AbortController } | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: CompiledOptions, server: Server, port: number) {
    super();
    this.#options = options;
    this.#server = server;
    this.name = options.name;
    this.target = options.target;
    this.host = options.listenHost;
    this.port = port;
    this.address = `${isIP(this.host) === 6 ? `[${this.host}]` : this.host}:${port}`;
    server.on('connection', (socket) => this.#accept(socket));
    server.on('error', (error) => this.#warn(error));
  }

  /** Listens on loopback and forwards to `options.target` (rule `pass`). */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const compiled = compileOptions(options);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: compiled.listenHost, port: compiled.listenPort, exclusive: true }, () => {
        server.off('error', reject);
        const address = server.address();
        if (address === null || typeof address === 'string') {
          server.close();
          reject(new Error(`FaultProxy ${compiled.name}: unexpected listen address ${String(address)}`));
          return;
        }
        resolve(address.port);
      });
    });
    return new FaultProxy(compiled, server, port);
  }

  /** Sets the rule of one source (`{ from }`) or the default rule, and applies it to open connections at once. */
  set(rule: FaultRule, scope: FaultScope = {}): void {
    const from = compileScope(scope, `FaultProxy ${this.name}: set`);
    const compiled = compileRule(rule, `FaultProxy ${this.name}: set`);
    this.#assertOpen();
    this.#assertNotFlapping(from);
    this.#setRule(compiled, from);
  }

  /** Removes the rule of `from` (it follows the default rule again), or with no argument every source's rule. */
  clear(from?: string): void {
    const source = from === undefined ? undefined : compileSource(from, `FaultProxy ${this.name}: clear`);
    this.#assertOpen();
    const sources = source === undefined ? [...this.#sourceRules.keys()] : [source];
    for (const s of sources) this.#assertNotFlapping(s);
    for (const s of sources) {
      if (!this.#sourceRules.delete(s)) continue;
      this.emit('rule', { rule: this.#defaultRule, from: s });
    }
    this.#applyAll(undefined);
  }

  /** The rule that connections from `from` follow now (the default rule when `from` has none or is omitted). */
  rule(from?: string): FaultRule {
    if (from === undefined) return this.#defaultRule;
    return this.#sourceRules.get(compileSource(from, `FaultProxy ${this.name}: rule`)) ?? this.#defaultRule;
  }

  /**
   * Cuts the path (`cut`) and restores it (`pass`) alternately every periodMs/2 for durationMs, starting
   * with a cut; resolves once the path passes again for good. Each step is a `rule` event. Meanwhile
   * set()/clear() for the same scope throw `PROXY_FLAPPING`; abort through `signal` to end early.
   */
  async flap(options: FlapOptions): Promise<void> {
    const { periodMs, cut, durationMs, from, signal } = compileFlap(options, `FaultProxy ${this.name}: flap`);
    this.#assertOpen();
    if (this.#flap !== undefined) {
      throw new FaultProxyError(`FaultProxy ${this.name}: a flap is already running`, 'PROXY_FLAPPING', this.name);
    }
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) controller.abort();
    this.#flap = { from, controller };
    const cutRule: FaultRule = Object.freeze({ mode: cut });
    try {
      const end = Date.now() + durationMs;
      for (let cutNow = true; !controller.signal.aborted && Date.now() < end; cutNow = !cutNow) {
        this.#setRule(cutNow ? cutRule : PASS, from);
        await sleep(Math.min(periodMs / 2, end - Date.now()), undefined, { signal: controller.signal }).catch(
          () => undefined, // aborted: the path passes again below
        );
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#flap = undefined;
      if (this.#closing === undefined) this.#setRule(PASS, from);
    }
  }

  /** A snapshot of the counters (a new object each time). */
  get stats(): FaultProxyStats {
    const held: FlowBytes = { requests: 0, replies: 0 };
    for (const connection of this.#connections) {
      held.requests += connection.requests.heldBytes;
      held.replies += connection.replies.heldBytes;
    }
    const c = this.#counters;
    return {
      accepted: c.accepted,
      open: this.#connections.size,
      refused: c.refused,
      resetByProxy: c.resetByProxy,
      overflowed: c.overflowed,
      forwarded: { ...c.forwarded },
      discarded: { ...c.discarded },
      held,
    };
  }

  /** The open connections, oldest first. */
  connections(): ConnectionInfo[] {
    return [...this.#connections].map((c) => ({
      id: c.id,
      from: c.from,
      connected: c.target !== undefined,
      lostBytes: c.lostBytes,
      held: { requests: c.requests.heldBytes, replies: c.replies.heldBytes },
    }));
  }

  /**
   * Ends every connection (both sockets destroyed), stops a running flap and stops listening; resolves
   * once every socket is closed and the port is free. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#flap?.controller.abort();
    const listenerClosed = new Promise<void>((resolve) => {
      // An error here only says the server was not listening any more: either way it is closed.
      this.#server.close(() => resolve());
    });
    const connectionsClosed = [...this.#connections].map((connection) => connection.destroy());
    await Promise.all([listenerClosed, ...connectionsClosed]);
  }

  #setRule(rule: FaultRule, from: string | undefined): void {
    if (from === undefined) this.#defaultRule = rule;
    else this.#sourceRules.set(from, rule);
    this.emit('rule', { rule, from });
    this.#applyAll(rule.mode === 'pass' && rule.resetBroken === true ? from ?? null : undefined);
  }

  /**
   * Applies each connection's rule again. `resetBrokenIn`: reset connections that lost bytes in this
   * scope (a source, or null for the connections following the default rule).
   */
  #applyAll(resetBrokenIn: string | null | undefined): void {
    for (const connection of this.#connections) {
      const own = this.#sourceRules.get(connection.from);
      const inScope = resetBrokenIn === undefined ? false
        : resetBrokenIn === null ? own === undefined
          : connection.from === resetBrokenIn;
      connection.apply(own ?? this.#defaultRule, inScope);
    }
  }

  #accept(socket: Socket): void {
    const from = normalizeAddress(socket.remoteAddress);
    this.#counters.accepted++;
    const rule = this.#sourceRules.get(from) ?? this.#defaultRule;
    if (this.#closing !== undefined || rule.mode === 'reset') {
      // Nothing to report: the socket is being reset by us, and a reset racing in from the client changes nothing.
      socket.on('error', () => undefined);
      resetSocket(socket);
      this.#counters.refused++;
      this.emit('refused', { from });
      return;
    }
    const connection = new ProxiedConnection(this.#nextId++, from, socket, {
      target: this.#options.target,
      maxHeldBytes: this.#options.maxHeldBytes,
      rewriteOpening: this.#options.rewriteOpening,
      counters: this.#counters,
      warn: (error) => this.#warn(error),
      ended: (c, reason) => {
        this.#connections.delete(c);
        this.emit('close', { id: c.id, from: c.from, reason });
      },
    });
    this.#connections.add(connection);
    this.emit('connection', { id: connection.id, from });
    connection.apply(rule, false);
  }

  #warn(error: Error): void {
    this.emit('warning', new Error(`FaultProxy ${this.name}: ${error.message}`, { cause: error }));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new FaultProxyError(`FaultProxy ${this.name} is closed`, 'PROXY_CLOSED', this.name);
    }
  }

  #assertNotFlapping(from: string | undefined): void {
    if (this.#flap !== undefined && this.#flap.from === from) {
      const scope = from === undefined ? 'the default rule' : `source ${from}`;
      throw new FaultProxyError(`FaultProxy ${this.name}: a flap is running on ${scope}`, 'PROXY_FLAPPING', this.name);
    }
  }
}

// ---- connections ----

interface ConnectionContext {
  target: Readonly<FaultProxyTarget>;
  maxHeldBytes: number;
  rewriteOpening: ((opening: Buffer) => OpeningRewrite | undefined) | undefined;
  counters: Counters;
  warn(error: Error): void;
  ended(connection: ProxiedConnection, reason: ConnectionEndReason): void;
}

/** One client connection and, once the rule lets it through, its connection to the target. */
class ProxiedConnection {
  rule: FaultRule = PASS;
  target: Socket | undefined;
  lostBytes = 0;
  readonly requests: Flow;
  readonly replies: Flow;
  #opening: Buffer | undefined;
  #targetConnected = false;
  #reason: ConnectionEndReason | undefined;
  #ended = false;
  readonly #whenEnded: Promise<void>;
  #resolveEnded!: () => void;

  constructor(
    readonly id: number,
    readonly from: string,
    readonly client: Socket,
    readonly context: ConnectionContext,
  ) {
    this.#whenEnded = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.requests = new Flow('requests', this);
    this.replies = new Flow('replies', this);
    this.#opening = context.rewriteOpening === undefined ? undefined : Buffer.alloc(0);
    client.setNoDelay(true);
    client.pause(); // reading starts when the rule lets bytes in (accepted with pauseOnConnect)
    client.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    client.on('end', () => this.#clientEnded());
    // An error on the client socket is a reset (or a failure that ends it like one): the target learns of it as the rule allows.
    client.on('error', () => this.requests.receive({ kind: 'reset' }));
    client.on('close', () => this.#socketClosed());
    this.requests.source = client;
    this.replies.attachSink(client);
  }

  /** Follows `rule` from now on; `resetBroken`: reset the connection if it lost bytes. */
  apply(rule: FaultRule, resetBroken: boolean): void {
    if (this.#ended) return;
    this.rule = rule;
    if (rule.mode === 'reset' || (resetBroken && this.lostBytes > 0)) {
      this.abort('reset');
      return;
    }
    if (this.target === undefined && rule.mode !== 'blackhole' && rule.mode !== 'stall') this.#connectTarget();
    this.requests.ruleChanged();
    this.replies.ruleChanged();
  }

  /** Resets both ends (RST). */
  abort(reason: 'reset' | 'overflow'): void {
    if (this.#ended || this.#reason !== undefined) return;
    this.#reason = reason;
    this.context.counters.resetByProxy++;
    if (reason === 'overflow') this.context.counters.overflowed++;
    this.#stopFlows();
    resetSocket(this.client);
    if (this.target !== undefined) resetSocket(this.target);
    this.#socketClosed();
  }

  /** Destroys both sockets (close() of the proxy); resolves once both are closed. */
  destroy(): Promise<void> {
    this.#reason ??= 'proxy closed';
    this.#stopFlows();
    this.client.destroy();
    this.target?.destroy();
    return this.#whenEnded;
  }

  #stopFlows(): void {
    this.requests.stop();
    this.replies.stop();
  }

  #connectTarget(): void {
    const target = connect({ host: this.context.target.host, port: this.context.target.port, allowHalfOpen: true });
    this.target = target;
    target.setNoDelay(true);
    target.pause();
    target.on('connect', () => {
      this.#targetConnected = true;
    });
    target.on('data', (chunk: Buffer) => this.replies.receive({ kind: 'data', chunk }));
    target.on('end', () => this.replies.receive({ kind: 'end' }));
    // Refused, unreachable or reset: the client learns of it as the rule allows (in `pass`, an RST at once).
    target.on('error', () => {
      if (!this.#targetConnected) this.#reason ??= 'target unreachable';
      this.replies.receive({ kind: 'reset' });
    });
    target.on('close', () => this.#socketClosed());
    this.replies.source = target;
    this.requests.attachSink(target);
  }

  #fromClient(chunk: Buffer): void {
    if (this.#opening === undefined) {
      this.requests.receive({ kind: 'data', chunk });
      return;
    }
    const opening = Buffer.concat([this.#opening, chunk]);
    let rewrite: OpeningRewrite | undefined;
    try {
      rewrite = this.context.rewriteOpening?.(opening);
      if (rewrite !== undefined) checkRewrite(rewrite, opening.length);
    } catch (error) {
      this.context.warn(new Error(`connection ${this.id} from ${this.from}: rewriteOpening failed (${(error as Error).message})`, { cause: error }));
      this.abort('reset');
      return;
    }
    if (rewrite === undefined) {
      if (opening.length > MAX_OPENING_BYTES) {
        this.context.warn(new Error(`connection ${this.id} from ${this.from}: rewriteOpening wanted more than ${MAX_OPENING_BYTES} bytes`));
        this.abort('reset');
        return;
      }
      this.#opening = opening;
      return;
    }
    this.#opening = undefined;
    if (rewrite.replacement.length > 0) this.requests.receive({ kind: 'data', chunk: rewrite.replacement });
    const rest = opening.subarray(rewrite.consumed);
    if (rest.length > 0) this.requests.receive({ kind: 'data', chunk: rest });
  }

  #clientEnded(): void {
    // The client ended before its opening was complete: what it sent passes unchanged.
    const pending = this.#opening;
    this.#opening = undefined;
    if (pending !== undefined && pending.length > 0) this.requests.receive({ kind: 'data', chunk: pending });
    this.requests.receive({ kind: 'end' });
  }

  /**
   * The connection ends once both sockets are closed, or once the client is gone before the
   * connection ever reached the target (there is nobody left to deliver anything to).
   */
  #socketClosed(): void {
    if (this.#ended || !this.client.destroyed) return;
    if (this.target !== undefined && !this.target.destroyed) return;
    this.#ended = true;
    this.#stopFlows();
    this.context.ended(this, this.#reason ?? 'closed');
    this.#resolveEnded();
  }
}

type Item = { kind: 'data'; chunk: Buffer } | { kind: 'end' } | { kind: 'reset' };
type HeldItem = Item & { dueAt: number };

/**
 * One direction of a connection: reads from `source`, writes to `sink`, holding (in order) what the
 * rule does not let through yet.
 */
class Flow {
  source: Socket | undefined;
  sink: Socket | undefined;
  heldBytes = 0;
  readonly #queue: HeldItem[] = [];
  #congested = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    readonly direction: Direction,
    private readonly connection: ProxiedConnection,
  ) {}

  attachSink(sink: Socket): void {
    this.sink = sink;
    sink.on('drain', () => {
      this.#congested = false;
      this.pump();
    });
    this.pump();
  }

  receive(item: Item): void {
    if (this.#stopped) return;
    const rule = this.connection.rule;
    const behaviour = behaviourOf(rule, this.direction);
    if (item.kind === 'data' && behaviour === 'drop') {
      this.#discard(item.chunk.length, true);
      return;
    }
    const dueAt = rule.mode === 'delay' ? Date.now() + rule.delayMs : 0;
    this.#queue.push({ ...item, dueAt });
    if (item.kind === 'data') {
      this.heldBytes += item.chunk.length;
      if (this.heldBytes > this.connection.context.maxHeldBytes) {
        this.connection.abort('overflow');
        return;
      }
    }
    this.pump();
  }

  ruleChanged(): void {
    if (behaviourOf(this.connection.rule, this.direction) === 'drop') {
      // Bytes held by an earlier stall or delay would have crossed after the loss began: lost too. FIN and RST stay held.
      const kept = this.#queue.filter((item) => item.kind !== 'data');
      for (const item of this.#queue) if (item.kind === 'data') this.#discard(item.chunk.length, true);
      this.#queue.splice(0, this.#queue.length, ...kept);
      this.heldBytes = 0;
    }
    this.pump();
  }

  /** Delivers what the rule lets through now, then reads from the source only if the rule wants more. */
  pump(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const rule = this.connection.rule;
    const behaviour = behaviourOf(rule, this.direction);
    while (this.#queue.length > 0 && this.sink !== undefined && !this.#congested) {
      if (behaviour !== 'pass' && behaviour !== 'delay') break;
      const head = this.#queue[0] as HeldItem;
      const wait = behaviour === 'delay' ? head.dueAt - Date.now() : 0;
      if (wait > 0) {
        this.#timer = setTimeout(() => this.pump(), wait);
        break;
      }
      this.#queue.shift();
      this.#deliver(head, this.sink);
    }
    this.#updateReading(behaviour);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.heldBytes = 0;
  }

  #deliver(item: HeldItem, sink: Socket): void {
    const open = !sink.destroyed && !sink.writableEnded;
    switch (item.kind) {
      case 'data': {
        this.heldBytes -= item.chunk.length;
        if (!open) {
          this.#discard(item.chunk.length, false); // the destination is gone: nowhere to deliver
          return;
        }
        this.connection.context.counters.forwarded[this.direction] += item.chunk.length;
        if (!sink.write(item.chunk)) this.#congested = true;
        return;
      }
      case 'end':
        if (open) sink.end();
        return;
      case 'reset':
        resetSocket(sink);
        return;
    }
  }

  #discard(bytes: number, lost: boolean): void {
    this.connection.context.counters.discarded[this.direction] += bytes;
    if (lost) this.connection.lostBytes += bytes;
  }

  /**
   * `pass` reads only while the destination keeps up (backpressure); `blackhole` reads nothing (the
   * sender's buffers fill); `stall`, `delay` and `drop` read everything (bounded by maxHeldBytes).
   */
  #updateReading(behaviour: Behaviour): void {
    const source = this.source;
    if (source === undefined || source.destroyed || source.readableEnded) return;
    const read = behaviour === 'pass' ? !this.#congested && this.#queue.length === 0 : behaviour !== 'pause';
    if (read) source.resume();
    else source.pause();
  }
}

type Behaviour = 'pass' | 'pause' | 'hold' | 'delay' | 'drop';

function behaviourOf(rule: FaultRule, direction: Direction): Behaviour {
  switch (rule.mode) {
    case 'pass':
      return 'pass';
    case 'blackhole':
    case 'reset': // the connection is reset as the rule is applied; nothing is read meanwhile
      return 'pause';
    case 'stall':
      return 'hold';
    case 'delay':
      return 'delay';
    case 'drop-requests':
      return direction === 'requests' ? 'drop' : 'pass';
    case 'drop-replies':
      return direction === 'replies' ? 'drop' : 'pass';
  }
}

/** RST, unless the socket is already gone. */
function resetSocket(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

/** `::ffff:127.0.0.2` (an IPv4 client of a dual-stack listener) is `127.0.0.2`. */
function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isLoopback(host: string): boolean {
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}

// ---- validation ----

function compileOptions(options: FaultProxyOptions): CompiledOptions {
  const where = 'FaultProxy.start';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be an object`);
  const { name, target, listenHost = '127.0.0.1', listenPort = 0, maxHeldBytes = DEFAULT_MAX_HELD_BYTES, rewriteOpening } = options;
  if (typeof name !== 'string' || name.trim() === '') throw new TypeError(`${where}: name must be a non-empty string, got ${describe(name)}`);
  const at = `${where} (${name})`;
  if (typeof target !== 'object' || target === null) throw new TypeError(`${at}: target must be { host, port }, got ${describe(target)}`);
  if (typeof target.host !== 'string' || !isLoopback(target.host)) {
    throw new TypeError(`${at}: target.host must be a loopback address literal (127.0.0.0/8 or ::1), got ${describe(target.host)}`);
  }
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) {
    throw new TypeError(`${at}: target.port must be an integer from 1 to 65535, got ${describe(target.port)}`);
  }
  if (typeof listenHost !== 'string' || !isLoopback(listenHost)) {
    throw new TypeError(`${at}: listenHost must be a loopback address literal (127.0.0.0/8 or ::1), got ${describe(listenHost)}`);
  }
  if (!Number.isInteger(listenPort) || listenPort < 0 || listenPort > 65_535) {
    throw new TypeError(`${at}: listenPort must be an integer from 0 to 65535, got ${describe(listenPort)}`);
  }
  if (!Number.isSafeInteger(maxHeldBytes) || maxHeldBytes < 1) {
    throw new TypeError(`${at}: maxHeldBytes must be a positive integer, got ${describe(maxHeldBytes)}`);
  }
  if (rewriteOpening !== undefined && typeof rewriteOpening !== 'function') {
    throw new TypeError(`${at}: rewriteOpening must be a function, got ${describe(rewriteOpening)}`);
  }
  return { name, target: Object.freeze({ host: target.host, port: target.port }), listenHost, listenPort, maxHeldBytes, rewriteOpening };
}

const RULE_FIELDS: Record<FaultMode, readonly string[]> = {
  pass: ['mode', 'resetBroken'],
  blackhole: ['mode'],
  stall: ['mode'],
  delay: ['mode', 'delayMs'],
  'drop-requests': ['mode'],
  'drop-replies': ['mode'],
  reset: ['mode'],
};

/** A frozen copy of a valid rule; a TypeError naming the field that is wrong otherwise. */
function compileRule(rule: FaultRule, where: string): FaultRule {
  if (typeof rule !== 'object' || rule === null) throw new TypeError(`${where}: rule must be an object like { mode: 'pass' }, got ${describe(rule)}`);
  const mode = (rule as { mode?: unknown }).mode;
  if (typeof mode !== 'string' || !(MODES as readonly string[]).includes(mode)) {
    throw new TypeError(`${where}: mode must be one of ${MODES.join(', ')}, got ${describe(mode)}`);
  }
  const fields = RULE_FIELDS[mode as FaultMode];
  const extra = Object.keys(rule).filter((key) => !fields.includes(key));
  if (extra.length > 0) throw new TypeError(`${where}: mode '${mode}' takes ${fields.join(', ')}; unknown field ${extra.join(', ')}`);
  switch (rule.mode) {
    case 'pass':
      if (rule.resetBroken !== undefined && typeof rule.resetBroken !== 'boolean') {
        throw new TypeError(`${where}: resetBroken must be a boolean, got ${describe(rule.resetBroken)}`);
      }
      return Object.freeze(rule.resetBroken === undefined ? { mode: 'pass' } : { mode: 'pass', resetBroken: rule.resetBroken });
    case 'delay':
      if (!Number.isSafeInteger(rule.delayMs) || rule.delayMs < 0) {
        throw new TypeError(`${where}: delayMs must be a non-negative integer, got ${describe(rule.delayMs)}`);
      }
      return Object.freeze({ mode: 'delay', delayMs: rule.delayMs });
    default:
      return Object.freeze({ mode: rule.mode });
  }
}

function compileScope(scope: FaultScope, where: string): string | undefined {
  if (typeof scope !== 'object' || scope === null) throw new TypeError(`${where}: scope must be an object like { from: '127.0.0.2' }, got ${describe(scope)}`);
  const extra = Object.keys(scope).filter((key) => key !== 'from');
  if (extra.length > 0) throw new TypeError(`${where}: scope takes only from; unknown field ${extra.join(', ')}`);
  return scope.from === undefined ? undefined : compileSource(scope.from, where);
}

function compileSource(from: string, where: string): string {
  if (typeof from !== 'string' || !isLoopback(normalizeAddress(from))) {
    throw new TypeError(`${where}: from must be a loopback address literal (127.0.0.0/8 or ::1), got ${describe(from)}`);
  }
  return normalizeAddress(from);
}

function compileFlap(options: FlapOptions, where: string): Required<Omit<FlapOptions, 'from' | 'signal'>> & Pick<FlapOptions, 'from' | 'signal'> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  const { periodMs, cut, durationMs, from, signal } = options;
  if (!Number.isSafeInteger(periodMs) || periodMs < 2) throw new TypeError(`${where}: periodMs must be an integer of at least 2, got ${describe(periodMs)}`);
  if (cut !== 'blackhole' && cut !== 'reset') throw new TypeError(`${where}: cut must be 'blackhole' or 'reset', got ${describe(cut)}`);
  if (!Number.isSafeInteger(durationMs) || durationMs < 0) throw new TypeError(`${where}: durationMs must be a non-negative integer, got ${describe(durationMs)}`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${where}: signal must be an AbortSignal, got ${describe(signal)}`);
  return { periodMs, cut, durationMs, from: from === undefined ? undefined : compileSource(from, where), signal };
}

function checkRewrite(rewrite: OpeningRewrite, length: number): void {
  if (typeof rewrite !== 'object' || rewrite === null) throw new TypeError(`rewriteOpening must return { consumed, replacement } or undefined, got ${describe(rewrite)}`);
  if (!Number.isInteger(rewrite.consumed) || rewrite.consumed < 0 || rewrite.consumed > length) {
    throw new TypeError(`rewriteOpening: consumed must be an integer from 0 to ${length}, got ${describe(rewrite.consumed)}`);
  }
  if (!Buffer.isBuffer(rewrite.replacement)) throw new TypeError(`rewriteOpening: replacement must be a Buffer, got ${describe(rewrite.replacement)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
