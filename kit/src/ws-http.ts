import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** The most a ws close frame's reason may hold: 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Refuses a ws upgrade with an HTTP status and a JSON error body `{ error: { code, message } }`
 * (browsers cannot read it, other clients can), then closes the socket.
 */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** A close reason cut to fit a close frame (with an ellipsis when cut). */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_CLOSE_REASON_BYTES - 1);
  while (Buffer.byteLength(`${cut}…`) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  return `${cut}…`;
}

const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * Answers a client that breaks the HTTP protocol (garbage before or instead of a request, huge
 * headers, a TLS handshake that fails, a request too slow to arrive) with 400, 431 or 408 and closes that one connection, telling
 * `onRefused` (for a metric or a log) what was wrong; the server goes on serving everyone else.
 */
export function answerClientErrors(server: Server, onRefused?: (detail: string, socket: Duplex) => void): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    onRefused?.(err.code ?? err.message, socket);
    // As Node does without a listener: an answer only when nothing was written on this connection yet.
    if (socket.writable && (socket as Socket).bytesWritten === 0) socket.end(`HTTP/1.1 ${CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  server.on('tlsClientError', (err: Error, socket: Duplex) => {
    onRefused?.(`TLS: ${err.message}`, socket);
    socket.destroy();
  });
}

/**
 * The request's URL, or `undefined` when it is not one (`//[`, say): HTTP parsers accept request
 * targets that `new URL` rejects, and an upgrade handler that throws takes its process down.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
