import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { NodeUnreachable } from '@highlander/runtime';
import { PeerClient } from '../../../runtime/src/transport/peer-client.js';
import { timing } from '../../harness/timing.js';

/**
 * The peer client's connections: they leave from the node's own address when it has one, and carry
 * the cluster secret. A real ws server on loopback that records who connected and hangs up.
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function recordingServer(): Promise<{ address: string; seen: Array<{ from: string | undefined; authorization: string | undefined }> }> {
  const seen: Array<{ from: string | undefined; authorization: string | undefined }> = [];
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    seen.push({ from: req.socket.remoteAddress, authorization: req.headers.authorization });
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(1001, 'going away'));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  servers.push(http);
  return { address: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, seen };
}

const CALL = { kind: 'call', type: 'counter', id: 'x', op: 'value', arg: null } as never;

describe('PeerClient', () => {
  it('connects from localAddress with the cluster secret; a request whose connection closes is NodeUnreachable', async () => {
    const server = await recordingServer();
    const client = new PeerClient({ maxPayloadBytes: 1 << 20, localAddress: '127.0.0.2', clusterSecret: 'a-cluster-secret-of-16+' });
    try {
      const failed = await client.request('node-b', server.address, CALL, timing.localMs).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(NodeUnreachable);
      expect(server.seen).toEqual([{ from: '127.0.0.2', authorization: 'Bearer a-cluster-secret-of-16+' }]);
    } finally {
      client.close();
    }
  });

  it('without localAddress, leaves it to the system', async () => {
    const server = await recordingServer();
    const client = new PeerClient({ maxPayloadBytes: 1 << 20 });
    try {
      await client.request('node-b', server.address, CALL, timing.localMs).catch(() => undefined);
      expect(server.seen).toEqual([{ from: '127.0.0.1', authorization: undefined }]);
    } finally {
      client.close();
    }
  });
});
