/**
 * The fault proxy on real loopback sockets: an echo server (or a server the test scripts) behind it,
 * clients in front of it, and each mode checked from both ends and through the proxy's stats and events.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultProxyError } from '../../../scripts/servers/errors.js';
import { FaultProxy, type FaultProxyOptions, type FaultRule } from '../../../scripts/servers/fault-proxy.js';
import { freePort } from '../../../scripts/servers/free-port.js';
import { hold, timing } from '../../harness/timing.js';

const wait = { timeout: timing.localMs };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One end of a connection and everything that happened to it. */
interface Peer {
  socket: Socket;
  received(): string;
  receivedBytes(): Buffer;
  /** How many bytes it received (cheap to poll, unlike received()). */
  receivedLength: number;
  ended: boolean;
  closed: boolean;
  error: NodeJS.ErrnoException | undefined;
}

function track(socket: Socket): Peer {
  const chunks: Buffer[] = [];
  const peer: Peer = {
    socket,
    receivedBytes: () => Buffer.concat(chunks),
    received: () => Buffer.concat(chunks).toString('latin1'),
    receivedLength: 0,
    ended: false,
    closed: false,
    error: undefined,
  };
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    peer.receivedLength += chunk.length;
  });
  socket.on('end', () => {
    peer.ended = true;
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    peer.error = error;
  });
  socket.on('close', () => {
    peer.closed = true;
  });
  return peer;
}

interface TestServer {
  port: number;
  /** The server's end of every connection it accepted, in order. */
  peers: Peer[];
}

/** A loopback server; by default it echoes (and ends when its client ends). */
async function startServer(onConnection: (socket: Socket) => void = echo): Promise<TestServer> {
  const peers: Peer[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    peers.push(track(socket));
    onConnection(socket);
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const peer of peers) peer.socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as { port: number }).port, peers };
}

function echo(socket: Socket): void {
  socket.on('data', (chunk: Buffer) => socket.write(chunk));
  socket.on('end', () => socket.end());
}

async function startProxy(port: number, options: Partial<FaultProxyOptions> = {}): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ name: 'test', target: { host: '127.0.0.1', port }, ...options });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client through the proxy, not waiting for anything (its connect may be reset). */
function dial(proxy: FaultProxy, localAddress?: string): Peer {
  const socket = connect({ host: proxy.host, port: proxy.port, localAddress, allowHalfOpen: true });
  cleanups.push(() => {
    socket.destroy();
  });
  return track(socket);
}

/** A client through the proxy, connected. */
async function client(proxy: FaultProxy, localAddress?: string): Promise<Peer> {
  const peer = dial(proxy, localAddress);
  await once(peer.socket, 'connect');
  return peer;
}

/** Sends `text` and waits for the echo to complete what the client has received. */
async function roundTrip(peer: Peer, text: string): Promise<void> {
  const expected = peer.received() + text;
  peer.socket.write(text);
  await vi.waitFor(() => expect(peer.received()).toBe(expected), wait);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const numbered = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `<message ${from + i}>`);

describe('FaultProxy', () => {
  it('passes large random payloads both ways intact', async () => {
    const fromServer = randomBytes(6 * 1024 * 1024 + 7);
    const server = await startServer((socket) => {
      socket.end(fromServer);
    });
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    const fromClient = randomBytes(6 * 1024 * 1024 + 13);
    for (let offset = 0; offset < fromClient.length; offset += 100_000) peer.socket.write(fromClient.subarray(offset, offset + 100_000));
    peer.socket.end();

    await vi.waitFor(() => {
      expect(peer.ended).toBe(true);
      expect(server.peers[0]?.ended).toBe(true);
    }, wait);
    expect(sha256(server.peers[0]!.receivedBytes())).toBe(sha256(fromClient));
    expect(sha256(peer.receivedBytes())).toBe(sha256(fromServer));
    expect(proxy.stats.forwarded).toEqual({ requests: fromClient.length, replies: fromServer.length });
    expect(proxy.stats.discarded).toEqual({ requests: 0, replies: 0 });
    await vi.waitFor(() => expect(proxy.stats.open).toBe(0), wait);
  });

  it('passes a half-close: the target still answers after its client ended', async () => {
    const server = await startServer((socket) => {
      socket.on('end', () => socket.end('bye'));
    });
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    peer.socket.end('hi');
    await vi.waitFor(() => {
      expect(peer.received()).toBe('bye');
      expect(peer.ended).toBe(true);
    }, wait);
    expect(server.peers[0]?.received()).toBe('hi');
  });

  it('blackhole holds both directions, then heals delivering everything in order, once', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    await roundTrip(peer, '<message 0>');
    const before = proxy.stats.forwarded;

    proxy.set({ mode: 'blackhole' });
    // 8 MiB and more: beyond the kernel's socket buffers, so the client's writes back up as on a real partition.
    const held = [...numbered(1, 2000), randomBytes(4 * 1024 * 1024).toString('latin1'), ...numbered(2001, 4000), randomBytes(4 * 1024 * 1024).toString('latin1')];
    for (const message of held) peer.socket.write(Buffer.from(message, 'latin1'));
    const late = await client(proxy); // accepted, but not connected to the target until the path heals
    late.socket.write('<late>');
    await hold(timing.proxyFaultMs);
    expect(server.peers[0]?.received()).toBe('<message 0>');
    expect(peer.received()).toBe('<message 0>');
    expect(server.peers).toHaveLength(1);
    expect(proxy.stats.forwarded).toEqual(before);
    expect(proxy.stats.discarded).toEqual({ requests: 0, replies: 0 });
    // The proxy reads nothing: the bytes wait in the kernel's buffers and then in the client's socket, whose writes back up.
    expect(proxy.stats.held).toEqual({ requests: 0, replies: 0 });
    expect(peer.socket.writableLength).toBeGreaterThan(0);
    expect(proxy.connections().map((c) => c.connected)).toEqual([true, false]);
    expect(peer.closed || late.closed).toBe(false);

    proxy.set({ mode: 'pass' });
    const all = Buffer.from(['<message 0>', ...held].join(''), 'latin1');
    await vi.waitFor(() => {
      expect(server.peers[0]?.receivedLength).toBe(all.length);
      expect(peer.receivedLength).toBe(all.length);
      expect(late.received()).toBe('<late>');
    }, wait);
    expect(sha256(server.peers[0]!.receivedBytes())).toBe(sha256(all));
    expect(sha256(peer.receivedBytes())).toBe(sha256(all));
    expect(server.peers).toHaveLength(2);
    await roundTrip(peer, '<after>');
  });

  it('drop-replies loses only replies, drop-requests only requests; resetBroken resets what lost bytes', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const lossy = await client(proxy);
    const quiet = await client(proxy); // sends nothing while bytes are dropped: loses nothing
    await roundTrip(lossy, 'a');
    await roundTrip(quiet, 'b');

    proxy.set({ mode: 'drop-replies' });
    lossy.socket.write('x'.repeat(1000));
    await vi.waitFor(() => {
      expect(server.peers[0]?.received()).toBe(`a${'x'.repeat(1000)}`);
      expect(proxy.stats.discarded.replies).toBe(1000);
    }, wait);
    expect(lossy.received()).toBe('a');

    proxy.set({ mode: 'drop-requests' });
    lossy.socket.write('y'.repeat(500));
    await vi.waitFor(() => expect(proxy.stats.discarded.requests).toBe(500), wait);
    server.peers[0]!.socket.write('from the server');
    await vi.waitFor(() => expect(lossy.received()).toBe('afrom the server'), wait);
    expect(server.peers[0]?.received()).toBe(`a${'x'.repeat(1000)}`);
    expect(proxy.connections().map((c) => c.lostBytes)).toEqual([1500, 0]);

    proxy.set({ mode: 'pass' }); // the broken connection stays until asked otherwise
    await roundTrip(lossy, 'c');
    proxy.set({ mode: 'pass', resetBroken: true });
    await vi.waitFor(() => {
      expect(lossy.error?.code).toBe('ECONNRESET');
      expect(lossy.closed).toBe(true);
    }, wait);
    await roundTrip(quiet, 'd');
    expect(proxy.stats.resetByProxy).toBe(1);
  });

  it('delay holds every chunk for a while and keeps the order', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    proxy.set({ mode: 'delay', delayMs: timing.proxyDelayMs });
    const messages = numbered(1, 200);
    for (const message of messages) peer.socket.write(message);
    await vi.waitFor(() => expect(proxy.stats.held.requests + proxy.stats.held.replies).toBeGreaterThan(0), wait);
    await vi.waitFor(() => expect(peer.received()).toBe(messages.join('')), wait);
    expect(server.peers[0]?.received()).toBe(messages.join(''));
    expect(proxy.stats.held).toEqual({ requests: 0, replies: 0 });
  });

  it('stall holds both directions until the next set, then delivers in order', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    await roundTrip(peer, '<message 0>');

    proxy.set({ mode: 'stall' });
    const messages = numbered(1, 500);
    for (const message of messages) peer.socket.write(message);
    server.peers[0]!.socket.write('<from the server>');
    const bytes = messages.join('').length;
    await vi.waitFor(() => expect(proxy.stats.held).toEqual({ requests: bytes, replies: '<from the server>'.length }), wait);
    expect(server.peers[0]?.received()).toBe('<message 0>');
    expect(peer.received()).toBe('<message 0>');

    proxy.set({ mode: 'pass' });
    await vi.waitFor(() => expect(peer.received()).toBe(`<message 0><from the server>${messages.join('')}`), wait);
    expect(server.peers[0]?.received()).toBe(`<message 0>${messages.join('')}`);
    expect(proxy.stats.held).toEqual({ requests: 0, replies: 0 });
  });

  it('reset ends open connections and refuses new ones until another mode is set', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const open = await client(proxy);
    await roundTrip(open, 'hello');
    const ends: string[] = [];
    proxy.on('close', ({ reason }) => ends.push(reason));

    proxy.set({ mode: 'reset' });
    await vi.waitFor(() => {
      expect(open.error?.code).toBe('ECONNRESET');
      expect(server.peers[0]?.error?.code).toBe('ECONNRESET');
    }, wait);
    const refused = dial(proxy);
    await vi.waitFor(() => {
      expect(refused.error?.code).toBe('ECONNRESET');
      expect(refused.closed).toBe(true);
    }, wait);
    expect(refused.received()).toBe('');
    expect(server.peers).toHaveLength(1);
    expect(proxy.stats).toMatchObject({ refused: 1, resetByProxy: 1, open: 0 });
    expect(ends).toEqual(['reset']);

    proxy.set({ mode: 'pass' });
    await roundTrip(await client(proxy), 'again');
    expect(server.peers).toHaveLength(2);
  });

  it('flap alternates a cut and pass, then passes for good', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const modes: string[] = [];
    proxy.on('rule', ({ rule }) => modes.push(rule.mode));
    let refused = 0;
    let served = 0;
    proxy.on('refused', () => refused++);
    proxy.on('connection', () => served++);

    const flapping = proxy.flap({ periodMs: timing.proxyFlapPeriodMs, cut: 'reset', durationMs: timing.proxyFlapMs });
    expect(() => proxy.set({ mode: 'pass' })).toThrow(FaultProxyError);
    let done = false;
    void flapping.finally(() => {
      done = true;
    });
    while (!done) {
      // One connection attempt after another while it flaps: some meet a cut, some the restored path.
      const peer = dial(proxy);
      await vi.waitFor(() => expect(peer.closed || peer.socket.readyState === 'open').toBe(true), wait);
      peer.socket.destroy();
    }
    await flapping;

    expect(modes[0]).toBe('reset');
    expect(modes.at(-1)).toBe('pass');
    expect(modes.filter((mode) => mode === 'reset').length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < modes.length - 1; i++) expect(modes[i]).not.toBe(modes[i - 1]);
    expect(refused).toBeGreaterThan(0);
    expect(served).toBeGreaterThan(0);
    expect(proxy.rule()).toEqual({ mode: 'pass' });
    await roundTrip(await client(proxy), 'steady');
  });

  it('a blackhole flap leaves a connection whole: what was sent during it arrives in order', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    const modes: string[] = [];
    proxy.on('rule', ({ rule }) => modes.push(rule.mode));
    const flapping = proxy.flap({ periodMs: timing.proxyFlapPeriodMs, cut: 'blackhole', durationMs: timing.proxyFlapMs });
    const sent: string[] = [];
    let done = false;
    void flapping.finally(() => {
      done = true;
    });
    for (let i = 0; !done; i++) {
      sent.push(`<${i}>`);
      peer.socket.write(`<${i}>`);
      await hold(timing.proxyFlapPeriodMs / 10); // spreads the writes over the flap's phases
    }
    await flapping;
    await vi.waitFor(() => expect(peer.received()).toBe(sent.join('')), wait);
    expect(modes.filter((mode) => mode === 'blackhole').length).toBeGreaterThanOrEqual(2);
    expect(modes.at(-1)).toBe('pass');
  });

  it('applies a per-source rule only to connections from that source', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const changes: Array<{ mode: string; from: string | undefined }> = [];
    proxy.on('rule', ({ rule, from }) => changes.push({ mode: rule.mode, from }));
    const local = await client(proxy, '127.0.0.1');
    const second = await client(proxy, '127.0.0.2');
    await roundTrip(local, 'one');
    await roundTrip(second, 'two');

    proxy.set({ mode: 'blackhole' }, { from: '127.0.0.2' });
    proxy.set({ mode: 'reset' }, { from: '127.0.0.3' });
    second.socket.write('held');
    await roundTrip(local, 'three');
    const third = dial(proxy, '127.0.0.3');
    await vi.waitFor(() => expect(third.error?.code).toBe('ECONNRESET'), wait);
    await hold(timing.proxyFaultMs);
    expect(second.received()).toBe('two');
    expect(server.peers).toHaveLength(2); // the refused one never reached the target
    expect(proxy.rule('127.0.0.2')).toEqual({ mode: 'blackhole' });
    expect(proxy.rule('127.0.0.1')).toEqual({ mode: 'pass' });

    proxy.set({ mode: 'blackhole' }); // every source without a rule of its own
    proxy.set({ mode: 'pass' }, { from: '127.0.0.2' });
    await vi.waitFor(() => expect(second.received()).toBe('twoheld'), wait);
    local.socket.write('held too');
    await roundTrip(second, 'four');
    await hold(timing.proxyFaultMs);
    expect(local.received()).toBe('onethree');

    proxy.clear('127.0.0.2'); // it follows the default (blackhole) again
    second.socket.write('held again');
    proxy.clear();
    proxy.set({ mode: 'pass' });
    await vi.waitFor(() => {
      expect(local.received()).toBe('onethreeheld too');
      expect(second.received()).toBe('twoheldfourheld again');
    }, wait);
    expect(changes).toEqual([
      { mode: 'blackhole', from: '127.0.0.2' },
      { mode: 'reset', from: '127.0.0.3' },
      { mode: 'blackhole', from: undefined },
      { mode: 'pass', from: '127.0.0.2' },
      { mode: 'blackhole', from: '127.0.0.2' },
      { mode: 'blackhole', from: '127.0.0.3' },
      { mode: 'pass', from: undefined },
    ]);
  });

  it('resets a connection that holds more than maxHeldBytes, and only that one', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port, { maxHeldBytes: 64 * 1024 });
    const greedy = await client(proxy);
    const modest = await client(proxy);
    const ends: string[] = [];
    proxy.on('close', ({ reason }) => ends.push(reason));
    proxy.set({ mode: 'stall' });
    greedy.socket.write(randomBytes(1024 * 1024));
    modest.socket.write('small');
    await vi.waitFor(() => {
      expect(greedy.error?.code).toBe('ECONNRESET');
      expect(greedy.closed).toBe(true);
    }, wait);
    expect(proxy.stats).toMatchObject({ overflowed: 1, resetByProxy: 1, open: 1 });
    expect(ends).toEqual(['overflow']);
    proxy.set({ mode: 'pass' });
    await vi.waitFor(() => expect(modest.received()).toBe('small'), wait);
  });

  it('resets the client when the target refuses, and when the target resets', async () => {
    const nobody = await freePort();
    const refusing = await startProxy(nobody);
    const ends: string[] = [];
    refusing.on('close', ({ reason }) => ends.push(reason));
    const first = dial(refusing);
    await vi.waitFor(() => expect(first.error?.code).toBe('ECONNRESET'), wait);
    await vi.waitFor(() => expect(ends).toEqual(['target unreachable']), wait);

    const server = await startServer((socket) => {
      socket.on('data', (chunk: Buffer) => (chunk.toString() === 'provoke' ? socket.resetAndDestroy() : socket.write(chunk)));
    });
    const proxy = await startProxy(server.port);
    const warnings: Error[] = [];
    proxy.on('warning', (error) => warnings.push(error));
    const peer = await client(proxy);
    peer.socket.write('provoke');
    await vi.waitFor(() => expect(peer.error?.code).toBe('ECONNRESET'), wait);
    await roundTrip(await client(proxy), 'still serving');
    expect(warnings).toEqual([]);
  });

  it('rewrites the opening bytes once, and resets a connection whose rewrite throws', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port, {
      rewriteOpening: (opening) => {
        const end = opening.indexOf('\n');
        if (end < 0) return undefined;
        if (opening.subarray(0, end).toString() === 'HELLO evil') throw new Error('no evil here');
        return { consumed: end + 1, replacement: Buffer.from('HELLO proxied\n') };
      },
    });
    const warnings: Error[] = [];
    proxy.on('warning', (error) => warnings.push(error));
    const peer = await client(proxy);
    peer.socket.write('HEL');
    await vi.waitFor(() => expect(proxy.connections()).toHaveLength(1), wait);
    peer.socket.write('LO me\nrest\nHELLO again\n');
    await vi.waitFor(() => expect(server.peers[0]?.received()).toBe('HELLO proxied\nrest\nHELLO again\n'), wait);

    const evil = await client(proxy);
    evil.socket.write('HELLO evil\n');
    await vi.waitFor(() => expect(evil.error?.code).toBe('ECONNRESET'), wait);
    expect(warnings.map((warning) => warning.message)).toEqual([expect.stringContaining('no evil here')]);
  });

  it('close ends every connection, frees the port, and refuses rules afterwards', async () => {
    const server = await startServer();
    const proxy = await startProxy(server.port);
    const peer = await client(proxy);
    await roundTrip(peer, 'hello');
    proxy.set({ mode: 'stall' });
    const held = await client(proxy); // never connected to the target
    await proxy.close();
    await vi.waitFor(() => {
      // A FIN from the proxy: the clients (allowHalfOpen) see the end, the echo server ends in turn.
      expect(peer.ended).toBe(true);
      expect(held.ended).toBe(true);
      expect(server.peers[0]?.closed).toBe(true);
    }, wait);
    expect(proxy.stats.open).toBe(0);

    const reuse = createServer();
    reuse.listen({ host: proxy.host, port: proxy.port, exclusive: true });
    await once(reuse, 'listening');
    await new Promise((resolve) => reuse.close(resolve));
    expect(() => proxy.set({ mode: 'pass' })).toThrow(expect.objectContaining({ code: 'PROXY_CLOSED' }));
    await proxy.close();
  });

  it('validates its options and rules with TypeErrors that name the field', async () => {
    const target = { host: '127.0.0.1', port: 2181 };
    const bad: Array<[unknown, RegExp]> = [
      [undefined, /options must be an object/],
      [{ target }, /name must be a non-empty string/],
      [{ name: 'x', target: { host: '10.0.0.1', port: 2181 } }, /target.host must be a loopback address/],
      [{ name: 'x', target: { host: 'localhost', port: 2181 } }, /target.host must be a loopback address/],
      [{ name: 'x', target: { host: '127.0.0.1', port: 0 } }, /target.port must be an integer from 1 to 65535/],
      [{ name: 'x', target, listenHost: '0.0.0.0' }, /listenHost must be a loopback address/],
      [{ name: 'x', target, listenPort: -1 }, /listenPort must be an integer/],
      [{ name: 'x', target, maxHeldBytes: 0 }, /maxHeldBytes must be a positive integer/],
      [{ name: 'x', target, rewriteOpening: 'yes' }, /rewriteOpening must be a function/],
    ];
    for (const [options, message] of bad) {
      await expect(FaultProxy.start(options as FaultProxyOptions)).rejects.toThrow(TypeError);
      await expect(FaultProxy.start(options as FaultProxyOptions)).rejects.toThrow(message);
    }

    const proxy = await startProxy(target.port);
    const badRules: Array<[unknown, RegExp]> = [
      [undefined, /rule must be an object/],
      [{ mode: 'drop' }, /mode must be one of pass, blackhole, stall, delay, drop-requests, drop-replies, reset/],
      [{ mode: 'delay', ms: 300 }, /unknown field ms/],
      [{ mode: 'delay', delayMs: -1 }, /delayMs must be a non-negative integer/],
      [{ mode: 'pass', resetBroken: 'yes' }, /resetBroken must be a boolean/],
      [{ mode: 'blackhole', delayMs: 5 }, /unknown field delayMs/],
    ];
    for (const [rule, message] of badRules) {
      expect(() => proxy.set(rule as FaultRule)).toThrow(TypeError);
      expect(() => proxy.set(rule as FaultRule)).toThrow(message);
    }
    expect(() => proxy.set({ mode: 'pass' }, { from: '192.168.1.2' })).toThrow(/from must be a loopback address/);
    expect(() => proxy.set({ mode: 'pass' }, { to: '127.0.0.1' } as never)).toThrow(/unknown field to/);
    expect(() => proxy.clear('example.com')).toThrow(TypeError);
    await expect(proxy.flap({ periodMs: 1, cut: 'reset', durationMs: 10 })).rejects.toThrow(/periodMs must be an integer of at least 2/);
    await expect(proxy.flap({ periodMs: 10, cut: 'stall' as never, durationMs: 10 })).rejects.toThrow(/cut must be 'blackhole' or 'reset'/);
    await expect(proxy.flap({ periodMs: 10, cut: 'reset', durationMs: -5 })).rejects.toThrow(/durationMs must be a non-negative integer/);
    expect(proxy.rule()).toEqual({ mode: 'pass' });
  });
});
