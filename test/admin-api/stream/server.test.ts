import { describe, expect, it, vi } from 'vitest';
import { VIEWER } from '../admin-server.js';
import { StreamClient, client, isSnapshot, open, refused, start, track } from './stream-client.js';

/** The stream's server: the upgrade's checks, and one model subscription only while someone needs it. */

describe('stream: costs nothing unwatched', () => {
  it('holds one model subscription while some client subscribes to something, and none otherwise', async () => {
    const server = await start();
    const { model } = server.cluster;
    expect(model.subscriberCount).toBe(0);
    const first = await client();
    expect(model.subscriberCount).toBe(0);
    first.send({ subscribe: 'summary' });
    await first.next(isSnapshot('summary'));
    expect(model.subscriberCount).toBe(1);
    const second = await client();
    second.send({ subscribe: 'events' });
    await second.next(isSnapshot('events'));
    expect(model.subscriberCount).toBe(1);

    first.send({ unsubscribe: 'summary' });
    await first.next((m) => m.kind === 'unsubscribed');
    expect(model.subscriberCount).toBe(1);
    second.ws.close();
    await second.closed;
    await vi.waitFor(() => expect(model.subscriberCount).toBe(0));
    first.ws.close();
    await first.closed;
    await vi.waitFor(() => expect(server.stream.clientCount).toBe(0));
    expect(model.subscriberCount).toBe(0);
  });
});

describe('stream: the upgrade', () => {
  it('an Origin that is neither the API\'s own nor allowed is refused with 403; allowed and same-origin ones connect', async () => {
    const server = await start({ allowedOrigins: ['https://dashboard.example'] });
    const evil = await refused(open(server, { token: VIEWER, origin: 'https://evil.example' }));
    expect(evil).toEqual({ status: 403, body: { error: { code: 'ORIGIN_NOT_ALLOWED', message: expect.stringContaining('https://evil.example') } } });
    await client(VIEWER, 'https://dashboard.example');
    await client(VIEWER, server.url);
  });

  it('401 without a token or with an unknown one; 400 without the highlander.v1 subprotocol; Authorization works too', async () => {
    const server = await start();
    expect((await refused(open(server))).status).toBe(401);
    const unknown = await refused(open(server, { token: 'nope-nope-nope' }));
    expect(unknown).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const noProtocol = await refused(open(server, { protocols: [`bearer.${VIEWER}`] }));
    expect(noProtocol).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('highlander.v1') } } });
    const c = track(new StreamClient(open(server, { headers: { authorization: `Bearer ${VIEWER}` } })));
    expect(await c.next((m) => m.kind === 'hello')).toMatchObject({ who: { name: 'vera', role: 'viewer' } });
  });

  it('refuses clients over maxClients with 503, and says hello with the API\'s pace and mode', async () => {
    const server = await start({ readOnly: true, stream: { maxClients: 1, flushIntervalMs: 50 } });
    const c = await client();
    expect(c.messages[0]).toEqual({ kind: 'hello', protocol: 'highlander.v1', who: { name: 'vera', role: 'viewer' }, readOnly: true, flushIntervalMs: 50 });
    expect(await refused(open(server, { token: VIEWER }))).toMatchObject({ status: 503, body: { error: { code: 'TOO_MANY_CLIENTS' } } });
  });
});
