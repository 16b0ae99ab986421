/**
 * A bare ws echo server, run as a child process by bench/forward.ts (the raw baseline of forwarded
 * calls): every message goes straight back. It sends `{ port }` to its parent once listening and
 * exits when the parent goes away.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => process.send?.({ port: (wss.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
