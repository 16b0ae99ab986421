import type { WebSocket } from 'ws';
import { ProtocolError, type SerializedError } from '../errors.js';
import type { Operation } from '../operation.js';

/**
 * The node-to-node protocol on `/peer`: every ws frame is a JSON array of messages, so that the
 * messages produced in one turn of the event loop travel in one frame.
 */

export type PeerOperation = 'get' | 'put' | 'call';

export interface PeerCall {
  t: 'call';
  /** Request id, unique per connection. */
  rid: number;
  type: string;
  id: string;
  op: PeerOperation;
  name?: string;
  arg?: unknown;
  /** `put` only: the version the replacement is guarded by. */
  expectedVersion?: number;
  /** What is left of the caller's timeout. */
  timeoutMs: number;
}

/**
 * Migration, sent by the owner to the target: `queue` — join the object's lock queue (waiting)
 * and reply once queued; `active` — reply once the object is active on the target.
 */
export interface PeerAdopt {
  t: 'adopt';
  rid: number;
  type: string;
  id: string;
  from: string;
  phase: 'queue' | 'active';
  timeoutMs: number;
}

export type PeerRequest = PeerCall | PeerAdopt;
/** A request as a caller writes it: the connection assigns `rid`. */
export type PeerRequestBody = PeerRequest extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

export type PeerReply =
  | { t: 'ok'; rid: number; value: unknown }
  | { t: 'err'; rid: number; error: SerializedError }
  /** The receiver is not the owner: `owner` is (or `null` when nobody is and the receiver will not activate). */
  | { t: 'redirect'; rid: number; owner: string | null };

export type PeerReplyBody = PeerReply extends infer R ? (R extends { rid: number } ? Omit<R, 'rid'> : never) : never;

/** A forwarded call as sent: the operation on `type`/`id`, with what is left of the caller's timeout. */
export function peerCallOf(type: string, id: string, operation: Operation, timeoutMs: number): Omit<PeerCall, 'rid'> {
  switch (operation.op) {
    case 'get': return { t: 'call', type, id, op: 'get', timeoutMs };
    case 'put': return { t: 'call', type, id, op: 'put', arg: operation.state, ...(operation.expectedVersion === undefined ? {} : { expectedVersion: operation.expectedVersion }), timeoutMs };
    case 'call': return { t: 'call', type, id, op: 'call', name: operation.name, arg: operation.arg, timeoutMs };
  }
}

/** The operation a forwarded call carries. */
export function operationOf(call: PeerCall): Operation {
  switch (call.op) {
    case 'get': return { op: 'get' };
    case 'put': return { op: 'put', state: call.arg, ...(call.expectedVersion === undefined ? {} : { expectedVersion: call.expectedVersion }) };
    case 'call': return { op: 'call', name: call.name!, arg: call.arg };
  }
}

export function parseFrame(data: unknown): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(data));
  } catch {
    throw new ProtocolError('peer frame is not JSON');
  }
  if (!Array.isArray(parsed)) throw new ProtocolError('peer frame is not a JSON array of messages');
  return parsed;
}

/**
 * Calls `handle` with the messages of every frame `ws` receives; a frame that is not a JSON array
 * closes the connection with 1007 and the reason.
 */
export function onFrames(ws: WebSocket, handle: (messages: unknown[]) => void): void {
  ws.on('message', (data) => {
    let messages: unknown[];
    try {
      messages = parseFrame(data);
    } catch (err) {
      ws.close(1007, (err as Error).message);
      return;
    }
    handle(messages);
  });
}

export function asPeerRequest(message: unknown): PeerRequest {
  const adopt = message as Partial<PeerAdopt> | null;
  if (typeof adopt === 'object' && adopt !== null && adopt.t === 'adopt') {
    if (typeof adopt.rid !== 'number' || typeof adopt.type !== 'string' || typeof adopt.id !== 'string' || typeof adopt.from !== 'string'
      || (adopt.phase !== 'queue' && adopt.phase !== 'active') || typeof adopt.timeoutMs !== 'number') {
      throw new ProtocolError(`malformed peer adopt: ${JSON.stringify(message)?.slice(0, 200)}`);
    }
    return adopt as PeerAdopt;
  }
  return asPeerCall(message);
}

export function asPeerCall(message: unknown): PeerCall {
  const m = message as Partial<PeerCall> | null;
  if (
    typeof m !== 'object' || m === null || m.t !== 'call' || typeof m.rid !== 'number' || typeof m.type !== 'string'
    || typeof m.id !== 'string' || (m.op !== 'get' && m.op !== 'put' && m.op !== 'call') || typeof m.timeoutMs !== 'number'
    || (m.op === 'call' && typeof m.name !== 'string')
    || (m.expectedVersion !== undefined && !(Number.isSafeInteger(m.expectedVersion) && m.expectedVersion >= 0))
  ) {
    throw new ProtocolError(`malformed peer call: ${JSON.stringify(message)?.slice(0, 200)}`);
  }
  return m as PeerCall;
}

export function asPeerReply(message: unknown): PeerReply {
  const m = message as Partial<PeerReply> | null;
  if (typeof m !== 'object' || m === null || typeof m.rid !== 'number' || (m.t !== 'ok' && m.t !== 'err' && m.t !== 'redirect')) {
    throw new ProtocolError(`malformed peer reply: ${JSON.stringify(message)?.slice(0, 200)}`);
  }
  return m as PeerReply;
}

/**
 * Collects messages and sends them as few frames per event-loop turn as fit under `maxFrameBytes`
 * (each message is serialised once, when written).
 */
export class FrameWriter {
  #pending: string[] = [];
  #scheduled = false;
  constructor(private readonly send: (frame: string) => void, private readonly maxFrameBytes: number) {}

  write(message: unknown): void {
    this.#pending.push(JSON.stringify(message));
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    let start = 0;
    let size = 2;
    for (let i = 0; i < pending.length; i++) {
      const length = pending[i]!.length + 1;
      if (i > start && size + length > this.maxFrameBytes) {
        this.send(`[${pending.slice(start, i).join(',')}]`);
        start = i;
        size = 2;
      }
      size += length;
    }
    if (start < pending.length) this.send(`[${pending.slice(start).join(',')}]`);
  }
}
