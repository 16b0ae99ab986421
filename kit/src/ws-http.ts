import { STATUS_CODES } from 'node:http';
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
