import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { answerClientErrors, closeReason, refuseUpgrade, requestUrl } from '@highlander/kit';
import { HighlanderError, ProtocolError } from '../errors.js';
import type { Refusal, RefusalReason } from '../http/node-gate.js';
import type { NodeTlsOptions } from '../node-options.js';
import type { EventLog, LifecycleEvent } from '../events.js';
import { FrameWriter, asPeerRequest, onFrames, type PeerRequest, type PeerReplyBody } from './peer-protocol.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface PeerServerOptions {
  host: string;
  port: number;
  /** Largest accepted frame; a larger one closes the connection with 1009. */
  maxPayloadBytes: number;
  /**
   * Handles one request from a peer (a forwarded call, or a migration step): its reply, or a promise
   * of it when it cannot be answered at once. A throw or a rejection is answered as an `err` reply.
   */
  onRequest(request: PeerRequest): PeerReplyBody | Promise<PeerReplyBody>;
  /** Plain HTTP requests (the node's admin endpoints); answers 426 when absent. */
  onHttp?: (req: IncomingMessage, res: ServerResponse) => void;
  events: EventLog;
  /** Whether a request may use the port (ws upgrades here; HTTP requests are `onHttp`'s to check). @default everyone */
  admit?: (req: IncomingMessage) => Refusal | undefined;
  /** A connection or request refused, or a connection ended for a malformed frame (counted, and logged at a limited rate). */
  onRefused?: (reason: RefusalReason, address: string, message: string) => void;
  /** TLS (https/wss, mutual with `requestClientCert`). @default none */
  tls?: NodeTlsOptions;
  /**
   * An event subscriber whose unsent data exceeds this is disconnected (close 1013) rather than
   * letting the node's memory grow; it reconnects with `?since=` to resume.
   * @default 8 MiB
   */
  maxSubscriberBufferBytes?: number;
}

/** The answer to a plain HTTP request the node does not serve: 426, use ws. */
export function upgradeRequired(res: ServerResponse): void {
  res.writeHead(426, { 'content-type': 'application/json' }).end(JSON.stringify({
    error: { code: 'UPGRADE_REQUIRED', message: 'this is a Highlander node: connect with ws to /peer or /events, or use /admin/… with its admin token' },
  }));
}

/**
 * The node's ws endpoint: `/peer` takes forwarded calls from other nodes, `/events?since=<seq>`
 * streams lifecycle events (first `{t:'events', events, gap}` with what was missed, then
 * `{t:'event', event}` as they happen).
 */
export class PeerServer {
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<WebSocket>();

  private constructor(private readonly options: PeerServerOptions) {
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (options.onHttp) options.onHttp(req, res);
      else upgradeRequired(res);
    };
    const { tls } = options;
    // Headers that do not arrive within 10 s (a slow drip, a half-open connection) end the connection;
    // Node checks every second. Admin requests are small and answered long before the 60 s request timeout.
    const limits = { headersTimeout: 10_000, requestTimeout: 60_000, connectionsCheckingInterval: 1000 };
    this.#http = tls
      ? createTlsServer({
        ...limits, cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca } : {}),
        requestCert: tls.requestClientCert ?? false, rejectUnauthorized: tls.requestClientCert ?? false,
      }, onRequest)
      : createServer(limits, onRequest);
    // A client that breaks the HTTP protocol (garbage before the upgrade, huge headers, a TLS
    // handshake that fails) gets 400/431 and loses its connection; the server goes on.
    answerClientErrors(this.#http, (detail, socket) => options.onRefused?.('bad-request', remoteAddress(socket), detail));
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false });
    // Errors of the listening socket reach listen()'s caller; the server re-emits them here too.
    this.#wss.on('error', () => {});
    this.#http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {
      // A client gone during the handshake: nothing to tell it.
    });
    const address = remoteAddress(socket);
    const refused = this.options.admit?.(req);
    if (refused) {
      this.options.onRefused?.(refused.reason, address, refused.message);
      refuseUpgrade(socket, refused.status, refused.code, refused.message, refused.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
      return;
    }
    const url = requestUrl(req);
    if (!url) {
      this.options.onRefused?.('bad-request', address, 'malformed URL');
      refuseUpgrade(socket, 400, 'BAD_REQUEST', 'malformed URL: the node\'s ws endpoints are /peer and /events?since=<seq>');
      return;
    }
    if (url.pathname !== '/peer' && url.pathname !== '/events') {
      this.options.onRefused?.('bad-request', address, `no ws endpoint ${url.pathname}`);
      refuseUpgrade(socket, 404, 'NOT_FOUND', `no ws endpoint at ${url.pathname}: the node's are /peer and /events?since=<seq>`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#sockets.add(ws);
      ws.on('close', () => this.#sockets.delete(ws));
      // A malformed frame (invalid UTF-8, over maxPayload, bad opcode or RSV bits, an unmasked frame)
      // ends that one connection: ws closes it with 1007/1009/1002 and reports the error here.
      // Without a listener the error would be thrown and end the process.
      ws.on('error', (err) => this.options.onRefused?.('malformed-frame', address, err.message));
      if (url.pathname === '/peer') this.#servePeer(ws);
      else this.#serveEvents(ws, url);
    });
  }

  static async listen(options: PeerServerOptions): Promise<PeerServer> {
    const server = new PeerServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(options.port, options.host, () => {
        server.#http.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const ws of this.#sockets) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    // Idle keep-alive and abandoned admin requests would hold close() open until they time out.
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #servePeer(ws: WebSocket): void {
    const writer = new FrameWriter((frame) => ws.send(frame), Math.floor(this.options.maxPayloadBytes / 2));
    onFrames(ws, (messages) => {
      for (const message of messages) {
        let call: PeerRequest;
        try {
          call = asPeerRequest(message);
        } catch (err) {
          const rid = (message as { rid?: unknown })?.rid;
          if (typeof rid === 'number') writer.write({ t: 'err', rid, error: (err as ProtocolError).serialize() });
          else ws.close(1007, closeReason((err as Error).message));
          continue;
        }
        const { rid } = call;
        let reply: PeerReplyBody | Promise<PeerReplyBody>;
        try {
          reply = this.options.onRequest(call);
        } catch (err) {
          writer.write(errorReply(rid, err));
          continue;
        }
        // Most forwarded calls are answered at once (a query on an active object): no promise to wait for.
        if (reply instanceof Promise) reply.then((body) => writer.write({ ...body, rid }), (err: unknown) => writer.write(errorReply(rid, err)));
        else writer.write({ ...reply, rid });
      }
    });
  }

  #serveEvents(ws: WebSocket, url: URL): void {
    const limit = this.options.maxSubscriberBufferBytes ?? 8 * 1024 * 1024;
    const sinceParam = url.searchParams.get('since');
    const since = sinceParam === null ? this.options.events.lastSeq : Number(sinceParam);
    if (!Number.isInteger(since) || since < 0) {
      ws.close(1008, `since must be a non-negative integer event sequence (got '${sinceParam}')`);
      return;
    }
    const backlog = this.options.events.since(since);
    ws.send(JSON.stringify({ t: 'events', events: backlog.events, gap: backlog.gap, lastSeq: this.options.events.lastSeq }));
    const unsubscribe = this.options.events.subscribe((event: LifecycleEvent) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > limit) {
        unsubscribe();
        ws.close(1013, `subscriber too slow: more than ${limit} bytes unsent; reconnect with ?since=${event.seq - 1}`);
        return;
      }
      ws.send(JSON.stringify({ t: 'event', event }));
    });
    ws.on('close', unsubscribe);
    ws.on('message', () => ws.close(1008, 'the events stream takes no messages'));
  }
}

/** The reply to request `rid` that failed with `err`. */
function errorReply(rid: number, err: unknown): PeerReplyBody & { rid: number } {
  const error = err instanceof HighlanderError ? err.serialize() : { code: 'INTERNAL', message: String((err as Error)?.message ?? err) };
  return { t: 'err', rid, error };
}

function remoteAddress(socket: Duplex): string {
  const address = (socket as { remoteAddress?: string }).remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
