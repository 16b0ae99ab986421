import { describe, expect, it } from 'vitest';
import { FrameWriter, asPeerCall, operationOf, parseFrame, peerCallOf } from '../../runtime/src/transport/peer-protocol.js';
import { ProtocolError } from '@highlander/runtime';

describe('peer protocol', () => {
  it('batches the messages of one turn into frames no larger than the limit', async () => {
    const frames: string[] = [];
    const writer = new FrameWriter((f) => frames.push(f), 100);
    for (let i = 0; i < 10; i++) writer.write({ t: 'ok', rid: i, value: 'x'.repeat(20) });
    await new Promise((r) => setImmediate(r));
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(f.length).toBeLessThanOrEqual(100);
    expect(frames.flatMap((f) => parseFrame(f)).map((m) => (m as { rid: number }).rid)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses malformed frames and calls with a ProtocolError that says what was wrong', () => {
    expect(() => parseFrame('{nope')).toThrow(ProtocolError);
    expect(() => parseFrame('{"t":"call"}')).toThrow(/array/);
    expect(() => asPeerCall({ t: 'call', rid: 1, type: 'todo', id: 'a', op: 'call', timeoutMs: 5 })).toThrow(/malformed peer call/);
    expect(asPeerCall({ t: 'call', rid: 1, type: 'todo', id: 'a', op: 'get', timeoutMs: 5 }).op).toBe('get');
    expect(() => asPeerCall({ t: 'call', rid: 1, type: 'todo', id: 'a', op: 'put', arg: {}, expectedVersion: -1, timeoutMs: 5 })).toThrow(/malformed peer call/);
    expect(() => asPeerCall({ t: 'call', rid: 1, type: 'todo', id: 'a', op: 'put', arg: {}, expectedVersion: '3', timeoutMs: 5 })).toThrow(/malformed peer call/);
  });

  it('carries the version guard of a replacement, and none for a plain put', () => {
    const guarded = peerCallOf('todo', 'a', { op: 'put', state: { x: 1 }, expectedVersion: 3 }, 100);
    expect(operationOf(asPeerCall({ ...guarded, rid: 1 }))).toEqual({ op: 'put', state: { x: 1 }, expectedVersion: 3 });
    const plain = peerCallOf('todo', 'a', { op: 'put', state: { x: 1 } }, 100);
    expect(operationOf(asPeerCall({ ...plain, rid: 2 }))).toEqual({ op: 'put', state: { x: 1 } });
  });
});
