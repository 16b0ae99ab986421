import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerClientErrors, closeReason, refuseUpgrade, requestUrl } from '@highlander/kit';
import { rawExchange } from '../harness/raw-ws.js';
import { timing } from '../harness/timing.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A real HTTP server on loopback whose upgrades are refused with `refuseUpgrade`, and whose client errors are answered. */
async function server(): Promise<{ port: number; refusals: string[] }> {
  const http = createServer((_req, res) => res.end('ok'));
  const refusals: string[] = [];
  answerClientErrors(http, (detail) => refusals.push(detail));
  http.on('upgrade', (req: IncomingMessage, socket) => {
    const url = requestUrl(req);
    refuseUpgrade(socket, url ? 404 : 400, url ? 'NOT_FOUND' : 'BAD_REQUEST', url ? `nothing at ${url.pathname}` : 'malformed URL');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => {
    http.closeAllConnections();
    http.close(() => resolve());
  }));
  return { port: (http.address() as AddressInfo).port, refusals };
}

const upgrade = (path: string) => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);

describe('ws-http', () => {
  it('answers broken HTTP with 400, oversized headers with 431, and tells why', async () => {
    const { port, refusals } = await server();
    expect(await rawExchange(port, [Buffer.from('NOT HTTP AT ALL\r\n\r\n')], { timeoutMs: timing.localMs })).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 400/), end: 'closed' });
    expect(await rawExchange(port, [Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)], { timeoutMs: timing.localMs })).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 431/), end: 'closed' });
    expect(refusals[0]).toMatch(/^HPE_/);
    expect(refusals).toContain('HPE_HEADER_OVERFLOW');
    // The server goes on serving.
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
  });

  it('parses a request target new URL would throw on as no URL, and refuses the upgrade with a JSON reason', async () => {
    const { port } = await server();
    const bad = await rawExchange(port, [upgrade('//[')], { timeoutMs: timing.localMs });
    expect(bad).toMatchObject({ status: expect.stringMatching(/^HTTP\/1\.1 400/), end: 'closed' });
    expect(bad.body).toContain('"code":"BAD_REQUEST"');
    const unknown = await rawExchange(port, [upgrade('/elsewhere?x=1')], { timeoutMs: timing.localMs });
    expect(unknown.status).toMatch(/^HTTP\/1\.1 404/);
    expect(unknown.body).toContain('nothing at /elsewhere');
  });

  it('cuts a close reason to the 123 bytes a close frame holds', () => {
    expect(closeReason('short')).toBe('short');
    const cut = closeReason('é'.repeat(100));
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
    expect(cut.endsWith('…')).toBe(true);
  });
});
