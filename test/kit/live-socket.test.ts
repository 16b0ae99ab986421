import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { LiveSocket } from '@highlander/kit';
import { timing } from '../harness/timing.js';

/** A real ws server on loopback. */
async function server(options: { autoPong?: boolean; refuse?: number } = {}): Promise<{ url: string; wss: WebSocketServer; http: Server; connections: WebSocket[]; paths: string[] }> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? true });
  const connections: WebSocket[] = [];
  const paths: string[] = [];
  http.on('upgrade', (req, socket, head) => {
    paths.push(req.url ?? '');
    if (options.refuse) {
      socket.end(`HTTP/1.1 ${options.refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => connections.push(ws));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, wss, http, connections, paths };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('LiveSocket', () => {
  it('receives messages, and reconnects after a drop, asking for the URL again', async () => {
    const s = await server();
    cleanups.push(() => s.http.close());
    let attempt = 0;
    const received: string[] = [];
    const closes: boolean[] = [];
    const socket = new LiveSocket({
      url: () => `${s.url}/events?attempt=${++attempt}`,
      reconnect: 'always',
      backoff: { initialMs: 1, maxMs: 10 },
      onMessage: (data) => received.push(String(data)),
      onClose: ({ wasOpen }) => closes.push(wasOpen),
    });
    cleanups.push(() => socket.close());
    socket.connect();
    await expect.poll(() => s.connections.length, { timeout: timing.localMs }).toBe(1);
    s.connections[0]!.send('one');
    await expect.poll(() => received, { timeout: timing.localMs }).toEqual(['one']);
    s.connections[0]!.terminate();
    await expect.poll(() => s.connections.length, { timeout: timing.localMs }).toBe(2);
    await expect.poll(() => socket.open, { timeout: timing.localMs }).toBe(true);
    expect(socket.send('hello')).toBe(true);
    expect(s.paths).toEqual(['/events?attempt=1', '/events?attempt=2']);
    expect(closes).toEqual([true]);
  });

  it('on demand: does not reconnect by itself, and reports a refused upgrade with its status', async () => {
    const s = await server({ refuse: 401 });
    cleanups.push(() => s.http.close());
    const errors: string[] = [];
    const socket = new LiveSocket({
      url: () => s.url,
      reconnect: 'on-demand',
      backoff: { initialMs: 1, maxMs: 1 },
      onMessage: () => undefined,
      onClose: ({ error }) => errors.push(error?.message ?? 'none'),
    });
    cleanups.push(() => socket.close());
    socket.connect();
    await expect.poll(() => errors, { timeout: timing.localMs }).toEqual(['the server refused the connection: HTTP 401 Refused']);
    expect(socket.open).toBe(false);
    expect(socket.send('x')).toBe(false);
    expect(s.paths.length).toBe(1);
    socket.connect();
    await expect.poll(() => s.paths.length, { timeout: timing.localMs }).toBe(2);
  });

  it('terminates a connection whose server stopped answering pings', async () => {
    const s = await server({ autoPong: false });
    cleanups.push(() => s.http.close());
    const closes: boolean[] = [];
    const socket = new LiveSocket({
      url: () => s.url,
      reconnect: 'on-demand',
      heartbeatMs: 20,
      onMessage: () => undefined,
      onClose: ({ wasOpen }) => closes.push(wasOpen),
    });
    cleanups.push(() => socket.close());
    socket.connect();
    await expect.poll(() => closes, { timeout: timing.localMs }).toEqual([true]);
    expect(socket.open).toBe(false);
  });

  it('stays closed after close()', async () => {
    const s = await server();
    cleanups.push(() => s.http.close());
    const socket = new LiveSocket({ url: () => s.url, reconnect: 'always', backoff: { initialMs: 1, maxMs: 1 }, onMessage: () => undefined });
    socket.connect();
    await expect.poll(() => socket.open, { timeout: timing.localMs }).toBe(true);
    socket.close();
    await expect.poll(() => socket.connecting, { timeout: timing.localMs }).toBe(false);
    socket.connect();
    expect(socket.connecting).toBe(false);
    expect(s.connections.length).toBe(1);
  });
});
