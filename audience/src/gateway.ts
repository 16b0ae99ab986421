import { MessageWindow, TokenBuckets, answerClientErrors, closeReason, refuseUpgrade, requestUrl, sleep } from '@highlander/kit';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { HighlanderNode } from '@highlander/runtime';
import { AttendeeWriter } from './attendee-writer.js';
import { AudienceMetrics } from './gateway-metrics.js';
import { compileGatewayOptions, type AudienceGatewayOptions, type CompiledGatewayOptions } from './gateway-options.js';

import { CURATED_EMOJI, MAX_QUESTION_LENGTH, isDeviceId, normalizeCode, parseClientMessage, type RejectionReason, type ServerMessage, type WelcomeMessage } from './protocol.js';
import { StaticFiles, json, text } from './static-files.js';
import { CLOSE_TALK_NOT_FOUND, TalkRoom, type RoomContext, type RoomMember } from './talk-room.js';

/**
 * The audience gateway: a public HTTP + ws server run inside a node process, on a port of its own,
 * through which the audience of a talk sends feedback. It uses its node to call the `talk` objects
 * (audience/src/objects.ts). It serves ONLY:
 *
 *   GET /                  "type your code": a form (no script) to /a?code=…, which redirects (303) to /a/<CODE>
 *   GET /a/<code>          the audience page (dashboard/dist/audience.html; 503 text if not built)
 *   GET /assets/<file>     the page's files (dashboard/dist/assets)
 *   GET /healthz           {"status":"ok","node":…,"connections":n}
 *   ws  /audience/ws?code=<code>&device=<deviceId>
 *
 * and nothing else: no admin endpoint, no metrics (the node serves those on its admin port with its
 * admin token), no proxy to the admin API. `<code>` is a room code (4–8 of ABCDEFGHJKMNPQRSTUVWXYZ23456789,
 * any case); `<deviceId>` is the page's anonymous per-device id (16–64 of A-Z a-z 0-9 _ -), kept in
 * local storage so a device keeps one slider position across reloads. The device id is a secret of
 * the device: it never leaves this gateway; the talk knows the device by its pseudonym (protocol.ts).
 *
 * Before the upgrade (HTTP status + JSON `{ error: { code, message } }`): 400 `malformed` bad code or
 * device id; 429 `too-many-connections` more than maxConnectionsPerAddress from one address; 429
 * `too-many-devices` a device this gateway has not seen lately from an address that introduced more
 * than newDevicesPerAddressBurst (then newDevicesPerAddressPerMinute) new ones; 503
 * `too-many-connections` more than maxConnections on this node; 404 any other path.
 *
 * The protocol (JSON text, one message per frame):
 *
 * server → client
 *   { kind: 'welcome', code, title, status: 'open' | 'closed', emoji: string[] (the curated palette),
 *     position: number | null (this device's position in the talk), participants (devices connected),
 *     round (increases on every reset: clear the slider when it changes),
 *     limits: { emojiBurst, emojiPerSecond, maxMessageBytes, maxMessagesPerSecond } }
 *       first message, once the talk is known; feedback sent before it is held until then
 *   { kind: 'room', participants, status, round }
 *       every ~2 s, and as soon as a change is known
 *   { kind: 'ack', ref, question?: { id, status } }
 *       the position, emoji, question or vote sent with that ref is DURABLE in the talk (its batch was
 *       applied); a position superseded by a later one of the same device is acknowledged with the
 *       later one; a question's ack carries its id and status ('pending' while it waits for approval)
 *   { kind: 'questions', full, approval, onScreen, questions: [{ id, text, votes, status, at }], removed: id[],
 *     mine?: { voted: id[], asked: [{ id, text, status }] } }
 *       the talk's visible questions (status 'open' | 'answered'): all of them with this device's own
 *       votes and questions (`full`, after the welcome), then what changed (`removed`: hidden by the
 *       presenter); `onScreen`: the question the presenter shows large. Text is plain text: show it as such
 *   { kind: 'rejected', ref?, reason, message, retryAfterMs? }
 *       reason: 'rate-limited' (too many emoji or messages; retry after retryAfterMs) | 'not-curated' |
 *       'closed' (the talk takes no feedback now) | 'too-large' | 'malformed' | 'talk-not-found' |
 *       'room-full' (the talk holds MAX_PARTICIPANTS already) | 'question-length' (3 to 280 characters) |
 *       'qna-full' (the talk holds as many questions or votes as it can) | 'question-gone' (a vote for a
 *       question no longer shown); `message` says what was wrong and what to do
 *
 * client → server
 *   { kind: 'position', value: 0..100, ref? }    the slider ("not great" 0 … "love it" 100), kept as a whole number
 *   { kind: 'emoji', emoji, ref? }                one of the curated emoji
 *   { kind: 'ask', text, ref? }                   a question: 3 to 280 characters once cleaned (controls and
 *                                                 line breaks become spaces, blanks collapse)
 *   { kind: 'vote', question: id, up, ref? }      up: true votes for a question, false takes the vote back
 *                                                 (one vote per device per question; sending it twice changes nothing)
 *   ref: a client-chosen string of at most 32 characters, echoed in the ack or rejection
 *
 * Closes: 1009 a message over maxMessageBytes (the reason says the limit), 1008 more than five times
 * maxMessagesPerSecond in one second, 4404 no talk with that code (after a `rejected` talk-not-found),
 * 1001 the node is going away (feedback sent while it hands over what it accepted is refused as
 * `rate-limited` with retryAfterMs; reconnect: any node's gateway serves the same talk). A client
 * that reconnects resends its current position; the talk keeps one position per device.
 *
 * Feedback path: positions are coalesced per device (the latest wins) and emoji collected; every
 * flushIntervalMs (150 ms) each talk gets ONE `apply` batch from this gateway (talk-room.ts), retried
 * with the same seq until applied, and acknowledged only then. Questions and votes go the same way to
 * the talk's `qna` object (qna-channel.ts), whose public view the gateway reads every flush interval
 * while devices are connected and passes on as `questions` messages. Limits: per device AND per remote
 * address token buckets for emoji; per device ones for questions and votes; a per-connection message rate; a message size limit; connections
 * per address and in total. Every refusal is counted in `highlander_audience_rejections_total{reason}`.
 *
 * ```ts
 * const gateway = await AudienceGateway.start(node, { port: 8081 });   // node registers Talk and Attendee
 * console.log(`${gateway.url}/a/ABCDE`);
 * await gateway.close(); // flushes pending feedback, closes clients with 1001; then node.stop()
 * ```
 */

/** ws connections are pinged this often; one that did not answer the previous ping is dropped (half-open wifi). */
const PING_INTERVAL_MS = 30_000;
/** After a talk-not-found, new connections to that code are refused without asking the talk for this long. */
const NOT_FOUND_CACHE_MS = 5000;
/** Idle token buckets are forgotten this often. */
const SWEEP_INTERVAL_MS = 10_000;
/** Device ids remembered as seen (the oldest forgotten first): a device seen lately reconnects without counting as new. */
const MAX_KNOWN_DEVICES = 100_000;

export class AudienceGateway {
  readonly metrics = new AudienceMetrics();
  readonly #options: CompiledGatewayOptions;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #files: StaticFiles;
  readonly #rooms = new Map<string, TalkRoom>();
  readonly #connections = new Set<AudienceConnection>();
  readonly #perAddress = new Map<string, number>();
  readonly #deviceEmoji: TokenBuckets;
  readonly #addressEmoji: TokenBuckets;
  readonly #addressNewDevices: TokenBuckets;
  readonly #deviceQuestions: TokenBuckets;
  readonly #deviceVotes: TokenBuckets;
  /** Device ids seen lately, oldest first. */
  readonly #knownDevices = new Set<string>();
  readonly #attendees: AttendeeWriter;
  readonly #roomContext: RoomContext;
  readonly #timers: NodeJS.Timeout[] = [];
  #closing = false;

  private constructor(readonly node: HighlanderNode, options: CompiledGatewayOptions, server: Server) {
    this.#options = options;
    this.#server = server;
    this.#files = new StaticFiles(options.dashboardDir);
    this.#deviceEmoji = new TokenBuckets({ burst: options.emojiBurst, perSecond: options.emojiPerSecond });
    this.#addressEmoji = new TokenBuckets({ burst: options.addressEmojiBurst, perSecond: options.addressEmojiPerSecond });
    this.#addressNewDevices = new TokenBuckets({ burst: options.newDevicesPerAddressBurst, perSecond: options.newDevicesPerAddressPerMinute / 60 });
    this.#deviceQuestions = new TokenBuckets({ burst: options.questionBurst, perSecond: options.questionsPerMinute / 60 });
    this.#deviceVotes = new TokenBuckets({ burst: options.voteBurst, perSecond: options.votesPerSecond });
    this.#attendees = new AttendeeWriter(node, this.metrics, {
      intervalMs: options.attendeeWriteIntervalMs, inFlight: options.attendeeWritesInFlight, perSecond: options.attendeeWritesPerSecond,
      // Attendee writes yield to the feedback path: they share the store with the talks.
      busy: () => {
        const now = performance.now();
        for (const room of this.#rooms.values()) if (room.slow(now)) return true;
        return false;
      },
    });
    // The hard limit only bounds what is buffered; the soft one (maxMessageBytes) is checked with a reason.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: Math.max(4 * options.maxMessageBytes, 4096), perMessageDeflate: false });
    this.#roomContext = {
      node,
      gateway: node.name,
      metrics: this.metrics,
      attendees: this.#attendees,
      heartbeatMs: options.heartbeatMs,
      flushIntervalMs: options.flushIntervalMs,
      emoji: CURATED_EMOJI,
      welcomeLimits: {
        emojiBurst: options.emojiBurst, emojiPerSecond: options.emojiPerSecond,
        maxMessageBytes: options.maxMessageBytes, maxMessagesPerSecond: options.maxMessagesPerSecond,
        questionBurst: options.questionBurst, questionsPerMinute: options.questionsPerMinute,
        voteBurst: options.voteBurst, votesPerSecond: options.votesPerSecond, maxQuestionLength: MAX_QUESTION_LENGTH,
      },
      reject: (member, reason, message, extra) => this.#reject(member as AudienceConnection, reason, message, extra),
      warn: (message) => node.logger.warn({ component: 'audience-gateway' }, message),
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#request(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(req, socket, head));
    this.#every(options.flushIntervalMs, () => this.#tick());
    this.#every(PING_INTERVAL_MS, () => this.#ping());
    this.#every(SWEEP_INTERVAL_MS, () => {
      this.#deviceEmoji.sweep();
      this.#addressEmoji.sweep();
      this.#addressNewDevices.sweep();
      this.#deviceQuestions.sweep();
      this.#deviceVotes.sweep();
    });
  }

  /** Listens on the configured port; the node must be running and register Talk and Attendee. */
  static async start(node: HighlanderNode, options: AudienceGatewayOptions): Promise<AudienceGateway> {
    const compiled = compileGatewayOptions(options);
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, connectionsCheckingInterval: 1000 });
    const gateway = new AudienceGateway(node, compiled, server);
    answerClientErrors(server, () => gateway.metrics.rejections.inc({ reason: 'bad-request' }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(compiled.port, compiled.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return gateway;
  }

  /** `http://<advertiseHost>:<port>`: the audience page of a talk is `${url}/a/<code>`. */
  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    const host = this.#options.advertiseHost.includes(':') ? `[${this.#options.advertiseHost}]` : this.#options.advertiseHost;
    return `http://${host}:${port}`;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** What this gateway holds now, per talk. */
  rooms(): Array<{ code: string; devices: number; unsettled: number; status: string | undefined }> {
    return [...this.#rooms.values()].map((r) => ({ code: r.code, devices: r.deviceCount, unsettled: r.unsettled, status: r.status }));
  }

  /**
   * Stops taking connections, lets every talk get the feedback accepted so far (within
   * `deadlineMs`), closes the clients with 1001 so they reconnect elsewhere, writes the attendees
   * of the devices that left. Call it before stopping the node.
   */
  async close(deadlineMs = 5000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const deadline = performance.now() + deadlineMs;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    while (performance.now() < deadline && [...this.#rooms.values()].some((r) => r.unsettled > 0)) await sleep(20);
    for (const connection of this.#connections) connection.close(1001, 'the server is going away: reconnect');
    for (const room of this.#rooms.values()) room.stop();
    await this.#attendees.close(Math.max(0, deadline - performance.now()));
    for (const timer of this.#timers) clearInterval(timer);
    for (const connection of this.#connections) connection.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await closed;
  }

  // ---- HTTP ----

  #request(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      text(res, 405, 'only GET: the audience page is /a/<code>\n', { allow: 'GET, HEAD' });
      return;
    }
    const head = method === 'HEAD';
    const url = requestUrl(req);
    if (!url) {
      text(res, 400, 'bad request: the audience page is /a/<code>\n');
      return;
    }
    const path = url.pathname;
    const done = (promise: Promise<void>) => promise.catch((err: unknown) => {
      if (!res.headersSent) text(res, 500, 'internal error\n');
      else res.destroy();
      this.node.logger.warn({ component: 'audience-gateway', err }, `${method} ${path} failed`);
    });
    if (path === '/healthz') {
      json(res, 200, { status: 'ok', node: this.node.name, connections: this.#connections.size });
      return;
    }
    if (path === '/') {
      this.#files.joinPage(res, head);
      return;
    }
    if (path === '/a' || path === '/a/') {
      // The join page's form: to the room, or back to the form saying what was wrong.
      const code = normalizeCode(url.searchParams.get('code'));
      if (code === null) this.#files.joinPage(res, head, 'That is not a room code: it has 4 to 8 letters and digits, as shown on the presenter\'s screen.');
      else res.writeHead(303, { location: `/a/${code}`, 'cache-control': 'no-store' }).end();
      return;
    }
    const page = /^\/a\/([^/]+)\/?$/.exec(path);
    if (page) {
      if (normalizeCode(page[1]) === null) text(res, 404, 'That is not a room code: check the code on the presenter\'s screen.\n');
      else void done(this.#files.page(res, head));
      return;
    }
    if (path.startsWith('/assets/')) {
      void done(this.#files.asset(path.slice('/assets/'.length), res, head));
      return;
    }
    text(res, 404, 'Nothing here: the audience page is /a/<code>.\n');
  }

  // ---- ws ----

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {
      // A client gone during the handshake: nothing to tell it.
    });
    const url = requestUrl(req);
    if (!url) {
      this.metrics.rejections.inc({ reason: 'malformed' });
      return refuseUpgrade(socket, 400, 'malformed', 'malformed URL: the audience ws is /audience/ws?code=<code>&device=<deviceId>');
    }
    if (url.pathname !== '/audience/ws') return refuseUpgrade(socket, 404, 'not-found', `no ws endpoint at ${url.pathname}: the audience ws is /audience/ws?code=<code>&device=<deviceId>`);
    if (this.#closing) return refuseUpgrade(socket, 503, 'going-away', 'this server is shutting down: connect again (another node serves the same talk)');
    const code = normalizeCode(url.searchParams.get('code'));
    const device = url.searchParams.get('device');
    if (code === null || !isDeviceId(device)) {
      this.metrics.rejections.inc({ reason: 'malformed' });
      const what = code === null ? 'code must be a room code (4-8 letters and digits, e.g. ABCDE)' : 'device must be 16-64 characters of A-Z a-z 0-9 _ -';
      return refuseUpgrade(socket, 400, 'malformed', `bad connection request: ${what}`);
    }
    const address = this.#addressOf(req);
    if ((this.#perAddress.get(address) ?? 0) >= this.#options.maxConnectionsPerAddress) {
      this.metrics.rejections.inc({ reason: 'too-many-connections' });
      return refuseUpgrade(socket, 429, 'too-many-connections', `at most ${this.#options.maxConnectionsPerAddress} connections from one address: close another tab or device first`, { 'Retry-After': '5' });
    }
    if (this.#connections.size >= this.#options.maxConnections) {
      this.metrics.rejections.inc({ reason: 'too-many-connections' });
      return refuseUpgrade(socket, 503, 'too-many-connections', 'this server has as many audience connections as it takes: try again shortly', { 'Retry-After': '5' });
    }
    if (!this.#knownDevices.has(device)) {
      const introduced = this.#addressNewDevices.take(address);
      if (!introduced.ok) {
        this.metrics.rejections.inc({ reason: 'too-many-devices' });
        const seconds = Math.max(1, Math.ceil(introduced.retryAfterMs / 1000));
        return refuseUpgrade(socket, 429, 'too-many-devices', `too many new devices from your network just now: try again in ${seconds} s`, { 'Retry-After': String(seconds) });
      }
    }
    this.#rememberDevice(device);
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, code, device, address));
  }

  #connected(ws: WebSocket, code: string, device: string, address: string): void {
    let room = this.#rooms.get(code);
    if (!room) {
      room = new TalkRoom(code, this.#roomContext);
      this.#rooms.set(code, room);
    }
    const connection = new AudienceConnection(ws, device, address, room, this.#options.maxMessagesPerSecond, (c) => this.#welcomed(c));
    this.#connections.add(connection);
    this.metrics.connections.set(this.#connections.size);
    this.metrics.connectionsTotal.inc();
    ws.on('message', (data, isBinary) => this.#message(connection, data, isBinary));
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('error', () => {
      // A broken frame (invalid UTF-8, bad opcode, over maxPayload): ws closes the connection with the
      // fitting code, and the 'close' that follows cleans up.
      this.metrics.rejections.inc({ reason: 'malformed-frame' });
    });
    ws.on('close', () => this.#disconnected(connection));
    if (room.notFoundAt !== undefined && performance.now() - room.notFoundAt < NOT_FOUND_CACHE_MS) {
      this.#reject(connection, 'talk-not-found', `there is no talk with code ${code}: check the code on the presenter's screen`);
      connection.close(CLOSE_TALK_NOT_FOUND, `no talk with code ${code}`);
      return;
    }
    room.join(connection);
  }

  #disconnected(connection: AudienceConnection): void {
    if (!this.#connections.delete(connection)) return;
    connection.closed = true;
    this.metrics.connections.set(this.#connections.size);
    const count = (this.#perAddress.get(connection.address) ?? 1) - 1;
    if (count > 0) this.#perAddress.set(connection.address, count);
    else this.#perAddress.delete(connection.address);
    connection.room.leave(connection);
  }

  #message(connection: AudienceConnection, data: RawData, isBinary: boolean): void {
    if (connection.closed) return;
    const bytes = byteLength(data);
    if (bytes > this.#options.maxMessageBytes) {
      this.#reject(connection, 'too-large', `a message is at most ${this.#options.maxMessageBytes} bytes (this one: ${bytes})`);
      connection.close(1009, `message too large: at most ${this.#options.maxMessageBytes} bytes`);
      return;
    }
    const window = connection.window.count();
    if (!window.ok && window.over > 4 * this.#options.maxMessagesPerSecond) {
      this.metrics.rejections.inc({ reason: 'rate-limited' });
      connection.close(1008, `too many messages: at most ${this.#options.maxMessagesPerSecond} per second`);
      return;
    }
    const text = isBinary ? null : rawText(data);
    if (!window.ok) {
      const ref = text === null ? undefined : refOf(text);
      this.#reject(connection, 'rate-limited', `at most ${this.#options.maxMessagesPerSecond} messages per second: slow down`, { ...(ref ? { ref } : {}), retryAfterMs: window.retryAfterMs });
      return;
    }
    if (text === null) {
      this.#reject(connection, 'malformed', 'binary messages are not accepted: send JSON text');
      return;
    }
    if (!connection.welcomed) {
      // Sent before the welcome (a reconnecting page resends its position at once): held until then.
      if (connection.early.length >= this.#options.maxMessagesPerSecond) {
        const ref = refOf(text);
        this.#reject(connection, 'rate-limited', 'wait for the welcome message before sending more', { ...(ref ? { ref } : {}), retryAfterMs: 1000 });
        return;
      }
      connection.early.push(text);
      return;
    }
    this.#handle(connection, text);
  }

  #handle(connection: AudienceConnection, text: string): void {
    const parsed = parseClientMessage(text);
    if (!parsed.ok) {
      this.#reject(connection, parsed.reason, parsed.message, parsed.ref ? { ref: parsed.ref } : {});
      return;
    }
    const { message } = parsed;
    if (this.#closing) {
      // What was accepted is being handed to the talks; new feedback goes to the next server.
      this.#reject(connection, 'rate-limited', 'this server is going away: send it again once reconnected', { ...(message.ref ? { ref: message.ref } : {}), retryAfterMs: 1000 });
      return;
    }
    if (message.kind === 'position') {
      connection.room.position(connection, message.value, message.ref);
      return;
    }
    if (message.kind === 'ask' || message.kind === 'vote') {
      const buckets = message.kind === 'ask' ? this.#deviceQuestions : this.#deviceVotes;
      const allowed = buckets.check(connection.device);
      if (!allowed.ok) {
        const why = message.kind === 'ask'
          ? `at most ${this.#options.questionBurst} questions at once, then ${this.#options.questionsPerMinute} a minute`
          : `at most ${this.#options.voteBurst} votes at once, then ${this.#options.votesPerSecond} a second`;
        this.#reject(connection, 'rate-limited', `${why}: try again in ${Math.ceil(allowed.retryAfterMs / 1000)} s`, { ...(message.ref ? { ref: message.ref } : {}), retryAfterMs: allowed.retryAfterMs });
        return;
      }
      const accepted = message.kind === 'ask'
        ? connection.room.ask(connection, message.text, message.ref)
        : connection.room.vote(connection, message.question, message.up, message.ref);
      if (accepted) buckets.spend(connection.device);
      return;
    }
    const byDevice = this.#deviceEmoji.check(connection.device);
    const byAddress = this.#addressEmoji.check(connection.address);
    if (!byDevice.ok || !byAddress.ok) {
      const retryAfterMs = Math.max(byDevice.ok ? 0 : byDevice.retryAfterMs, byAddress.ok ? 0 : byAddress.retryAfterMs);
      const why = !byDevice.ok
        ? `at most ${this.#options.emojiBurst} emoji at once, then ${this.#options.emojiPerSecond} per second`
        : 'too many emoji from your network right now';
      this.#reject(connection, 'rate-limited', `${why}: try again in ${Math.ceil(retryAfterMs / 100) / 10} s`, { ...(message.ref ? { ref: message.ref } : {}), retryAfterMs });
      return;
    }
    if (connection.room.emoji(connection, message.emoji, message.ref)) {
      this.#deviceEmoji.spend(connection.device);
      this.#addressEmoji.spend(connection.address);
    }
  }

  /** Welcomed: the messages it sent before are handled now, in order. */
  #welcomed(connection: AudienceConnection): void {
    const early = connection.early.splice(0);
    for (const text of early) if (!connection.closed) this.#handle(connection, text);
  }

  #reject(connection: AudienceConnection, reason: RejectionReason, message: string, extra: { ref?: string; retryAfterMs?: number } = {}): void {
    this.metrics.rejections.inc({ reason });
    connection.send({ kind: 'rejected', ...(extra.ref !== undefined ? { ref: extra.ref } : {}), reason, message, ...(extra.retryAfterMs !== undefined ? { retryAfterMs: extra.retryAfterMs } : {}) });
  }

  #tick(): void {
    const now = performance.now();
    for (const [code, room] of this.#rooms) {
      room.tick(now);
      const notFoundFresh = room.notFoundAt !== undefined && now - room.notFoundAt < NOT_FOUND_CACHE_MS;
      if (room.idle && !notFoundFresh) this.#rooms.delete(code);
    }
  }

  #ping(): void {
    for (const connection of this.#connections) connection.ping();
  }

  #addressOf(req: IncomingMessage): string {
    if (this.#options.trustProxy) {
      const forwarded = req.headers['x-forwarded-for'];
      const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((s) => s.trim()).filter(Boolean).at(-1);
      if (last) return normalizeAddress(last);
    }
    return normalizeAddress(req.socket.remoteAddress ?? 'unknown');
  }

  /** Marks a device id as seen now (most recent last), forgetting the oldest past the cap. */
  #rememberDevice(device: string): void {
    this.#knownDevices.delete(device);
    this.#knownDevices.add(device);
    if (this.#knownDevices.size > MAX_KNOWN_DEVICES) this.#knownDevices.delete(this.#knownDevices.values().next().value!);
  }

  #every(intervalMs: number, task: () => void): void {
    this.#timers.push(setInterval(task, intervalMs).unref());
  }
}

/** One audience connection: a device in a room. */
class AudienceConnection implements RoomMember {
  welcomed = false;
  closed = false;
  alive = true;
  /** Messages received before the welcome. */
  readonly early: string[] = [];
  readonly window: MessageWindow;

  constructor(
    private readonly ws: WebSocket,
    readonly device: string,
    readonly address: string,
    readonly room: TalkRoom,
    maxMessagesPerSecond: number,
    private readonly onWelcomed: (connection: AudienceConnection) => void,
  ) {
    this.window = new MessageWindow(maxMessagesPerSecond);
  }

  send(message: ServerMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  welcome(message: WelcomeMessage): void {
    this.send(message);
    this.welcomed = true;
    this.onWelcomed(this);
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, closeReason(reason));
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The ref of a message that is refused before it is parsed properly, if it has a valid one. */
function refOf(text: string): string | undefined {
  try {
    const ref = (JSON.parse(text) as { ref?: unknown })?.ref;
    return typeof ref === 'string' && ref.length > 0 && ref.length <= 32 ? ref : undefined;
  } catch {
    return undefined;
  }
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}
