import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A hostile ws client for the fuzz tests: raw TCP, so that it can send what no well-behaved client
 * library would — invalid UTF-8, reserved opcodes, RSV bits, unmasked frames, lengths it never
 * sends, bytes that are no protocol at all.
 */

/** One ws frame as bytes. `declaredLength` lies about the length; `mask: false` breaks RFC 6455 for a client. */
export function frame(options: { opcode: number; payload: Buffer; fin?: boolean; rsv?: number; mask?: boolean; declaredLength?: number }): Buffer {
  const { opcode, payload, fin = true, rsv = 0, mask = true } = options;
  const length = options.declaredLength ?? payload.length;
  const header: number[] = [(fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0f)];
  const maskBit = mask ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126) header.push(maskBit | length);
  else if (length < 65_536) {
    header.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    header.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  }
  if (!mask) return Buffer.concat([Buffer.from(header), extended, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= key[i % 4]!;
  return Buffer.concat([Buffer.from(header), extended, key, masked]);
}

/** How a raw connection ended: the status line of an HTTP answer, the close code the server sent, or how the socket ended. */
export interface RawOutcome {
  /** The first line of an HTTP answer, if one came. */
  status?: string;
  /** What followed the headers of an HTTP answer other than 101 (a refusal's JSON), if any. */
  body?: string;
  /** The code of a close frame from the server, if one came. */
  closeCode?: number;
  /** 'closed' (the server ended the connection), or 'timeout' (it was still open after `timeoutMs`; the client closed it). */
  end: 'closed' | 'timeout';
}

/** A connection to `port` on 127.0.0.1 that writes `chunks` (with `gapMs` between them) and reports how it ended. */
export function rawExchange(port: number, chunks: Buffer[], options: { timeoutMs: number; gapMs?: number }): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (end: RawOutcome['end']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(received), end });
    };
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
    socket.on('data', (data: Buffer) => (received = Buffer.concat([received, data])));
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (done || socket.destroyed) return;
        socket.write(chunk);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    });
  });
}

/** The bytes of an upgrade request to `path` with `headers`. */
export function upgradeRequest(port: number, path: string, headers: Record<string, string> = {}): Buffer {
  const lines = [
    `GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`);
}

/**
 * Upgrades a raw connection, then writes `after` (frames, or anything) and reports how it ended:
 * the 101 line and the server's close code when it closed with one.
 */
export function upgradeThen(port: number, path: string, headers: Record<string, string>, after: Buffer[], timeoutMs: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let upgraded = false;
    let done = false;
    const finish = (end: RawOutcome['end']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(received), end });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (!upgraded && received.includes('\r\n\r\n')) {
        upgraded = true;
        if (!received.toString('latin1').startsWith('HTTP/1.1 101')) return finish('closed');
        for (const chunk of after) socket.write(chunk);
      }
    });
    socket.on('error', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('connect', () => socket.write(upgradeRequest(port, path, headers)));
  });
}

function parseAnswer(received: Buffer): Omit<RawOutcome, 'end'> {
  const text = received.toString('latin1');
  const status = text.startsWith('HTTP/') ? text.slice(0, text.indexOf('\r\n')) : undefined;
  const headerEnd = text.indexOf('\r\n\r\n');
  if (status === undefined) return {};
  if (headerEnd < 0) return { status };
  if (!status.startsWith('HTTP/1.1 101')) return { status, body: received.subarray(headerEnd + 4).toString('utf8') };
  // Frames after the 101: find a close frame (opcode 8) and its code.
  let offset = headerEnd + 4;
  while (offset + 2 <= received.length) {
    const opcode = received[offset]! & 0x0f;
    let length = received[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = received.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(received.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 0x8 && length >= 2 && start + 2 <= received.length) return { status, closeCode: received.readUInt16BE(start) };
    offset = start + length;
  }
  return { status };
}
