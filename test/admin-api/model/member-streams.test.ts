import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { LifecycleEvent, MemberInfo } from '@highlander/runtime';
import { MemberStreams } from '../../../admin-api/src/model/member-streams.js';
import { timing } from '../../harness/timing.js';

/**
 * One `/events` stream per member, against a ws server on loopback that speaks a node's events
 * protocol (runtime/src/transport/peer-server.ts): resuming from the last sequence after a drop, and
 * every kind of gap (the node's own flag, a jump, a restart under the same name).
 */

/** A node's event endpoint: records the `since` of every connection; the test sends frames. */
class FakeEventEndpoint {
  readonly wss: WebSocketServer;
  readonly sinces: number[] = [];
  socket: WebSocket | undefined;

  private constructor() {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.wss.on('connection', (ws, req) => {
      this.sinces.push(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('since')));
      this.socket = ws;
    });
  }

  static async start(): Promise<FakeEventEndpoint> {
    const endpoint = new FakeEventEndpoint();
    endpoints.push(endpoint);
    await new Promise((resolve) => endpoint.wss.once('listening', resolve));
    return endpoint;
  }

  get address(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  send(frame: unknown): void {
    this.socket!.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

function event(seq: number): LifecycleEvent {
  return { kind: 'node.joined', peer: `p${seq}`, address: 'x', seq, node: 'node-a', time: seq };
}

function member(address: string, startedAt = 1): MemberInfo {
  return { name: 'node-a', address, pid: 1, startedAt, activations: 0, draining: false };
}

const endpoints: FakeEventEndpoint[] = [];
let streams: MemberStreams | undefined;

afterEach(async () => {
  streams?.close();
  streams = undefined;
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

async function setUp() {
  const endpoint = await FakeEventEndpoint.start();
  const received: Array<{ seqs: number[]; gap: boolean }> = [];
  const statuses: boolean[] = [];
  const logs: Array<{ msg: string }> = [];
  streams = new MemberStreams({
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    reconnect: { initialMs: 10, maxMs: 50 },
    onEvents: (_node, events, gap) => received.push({ seqs: events.map((e) => e.seq), gap }),
    onStatus: (_node, connected) => statuses.push(connected),
  });
  return { endpoint, streams, received, statuses, logs };
}

const waitFor = (check: () => void) => vi.waitFor(check, { timeout: timing.eventMs, interval: 10 });

describe('MemberStreams', () => {
  it('follows a member from its first event and resumes from the last sequence after a drop', async () => {
    const { endpoint, streams, received, statuses } = await setUp();
    streams.follow(member(endpoint.address));
    await waitFor(() => expect(statuses).toEqual([true]));
    expect(endpoint.sinces).toEqual([0]);
    endpoint.send({ t: 'events', events: [event(1), event(2)], gap: false, lastSeq: 2 });
    endpoint.send({ t: 'event', event: event(3) });
    await waitFor(() => expect(received).toEqual([{ seqs: [1, 2], gap: false }, { seqs: [3], gap: false }]));

    streams.cut('node-a');
    await waitFor(() => expect(statuses).toEqual([true, false, true]));
    expect(endpoint.sinces).toEqual([0, 3]);
    // The node's backlog after 3 may repeat what was seen: nothing twice.
    endpoint.send({ t: 'events', events: [event(3), event(4)], gap: false, lastSeq: 4 });
    await waitFor(() => expect(received.at(-1)).toEqual({ seqs: [4], gap: false }));
    expect(received).toHaveLength(3);
  });

  it('reports a gap: the node no longer has the events, the sequence jumps, or the node restarted under the same name', async () => {
    const { endpoint, streams, received, statuses } = await setUp();
    streams.follow(member(endpoint.address));
    await waitFor(() => expect(statuses).toEqual([true]));
    endpoint.send({ t: 'events', events: [event(5), event(6)], gap: true, lastSeq: 6 });
    endpoint.send({ t: 'event', event: event(9) });
    await waitFor(() => expect(received).toEqual([{ seqs: [5, 6], gap: true }, { seqs: [9], gap: true }]));

    streams.cut('node-a');
    await waitFor(() => expect(endpoint.sinces).toEqual([0, 9]));
    // A new process numbers from 1 again.
    endpoint.send({ t: 'events', events: [event(1)], gap: false, lastSeq: 1 });
    await waitFor(() => expect(received.at(-1)).toEqual({ seqs: [1], gap: true }));
    endpoint.send({ t: 'event', event: event(2) });
    await waitFor(() => expect(received.at(-1)).toEqual({ seqs: [2], gap: false }));
  });

  it('drops a connection that sends something that is not JSON, says so, and reconnects', async () => {
    const { endpoint, streams, statuses, logs } = await setUp();
    streams.follow(member(endpoint.address));
    await waitFor(() => expect(statuses).toEqual([true]));
    endpoint.send('garbage');
    await waitFor(() => expect(statuses).toEqual([true, false, true]));
    expect(logs.some((l) => /not JSON/.test(l.msg))).toBe(true);
  });

  it('replaces the stream of an earlier process of the same name, and stops following on unfollow', async () => {
    const { endpoint, streams, statuses } = await setUp();
    const second = await FakeEventEndpoint.start();
    streams.follow(member(endpoint.address));
    await waitFor(() => expect(statuses).toEqual([true]));
    streams.follow(member(second.address, 2));
    await waitFor(() => expect(second.sinces).toEqual([0]));
    // The old stream's close is not reported: the member is the new process now.
    await waitFor(() => expect(statuses).toEqual([true, true]));
    await waitFor(() => expect(endpoint.wss.clients.size).toBe(0));
    streams.unfollow('node-a');
    await waitFor(() => expect(second.wss.clients.size).toBe(0));
    expect(statuses).toEqual([true, true]);
  });
});
