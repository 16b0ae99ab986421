/**
 * The protocol of a node's port, for tools that speak it (a simulated node in the benchmarks, a
 * proxy, a test double of a node): the ws server a node runs (`/peer` for forwarded calls and
 * migrations, `/events?since=N` for lifecycle events) and the peer messages.
 *
 * ```ts
 * import { EventLog } from '@highlander/runtime';
 * import { PeerServer } from '@highlander/runtime/transport';
 *
 * const events = new EventLog('fake-a');
 * const server = await PeerServer.listen({ host: '127.0.0.1', port: 0, maxPayloadBytes: 1 << 20, events,
 *   onRequest: async () => ({ t: 'redirect', owner: null }) });
 * events.emit({ kind: 'node.up', address: `ws://127.0.0.1:${server.port}` }); // served to /events subscribers
 * ```
 */
export { PeerServer } from './peer-server.js';
export type { PeerServerOptions } from './peer-server.js';
export type { PeerAdopt, PeerCall, PeerOperation, PeerReply, PeerReplyBody, PeerRequest, PeerRequestBody } from './peer-protocol.js';
