import { describe, expect, it } from 'vitest';
import { clampPosition, codeFromPath, describePosition, normalizeCode, parseServerMessage } from '../../../dashboard/src/audience/protocol.ts';

describe('audience protocol (client side)', () => {
  it('reads the room code from the page path', () => {
    expect(codeFromPath('/a/ABCDE')).toBe('ABCDE');
    expect(codeFromPath('/a/abcde/')).toBe('ABCDE');
    expect(codeFromPath('/a/%20abcde')).toBe('ABCDE');
    expect(codeFromPath('/a/')).toBeNull();
    expect(codeFromPath('/a/ABCDE/x')).toBeNull();
    expect(codeFromPath('/b/ABCDE')).toBeNull();
    // I, L, O, 0 and 1 are never in codes (look-alikes).
    expect(codeFromPath('/a/HELLO')).toBeNull();
    expect(codeFromPath('/a/%E0%A4%A')).toBeNull();
  });

  it('normalizes codes as people type them', () => {
    expect(normalizeCode(' xyz23 ')).toBe('XYZ23');
    expect(normalizeCode('ABC')).toBeNull();
    expect(normalizeCode('ABCDEFGHJ')).toBeNull();
    expect(normalizeCode(null)).toBeNull();
  });

  it('parses server messages, ignoring anything else', () => {
    expect(parseServerMessage('{"kind":"ack","ref":"p1"}')).toEqual({ kind: 'ack', ref: 'p1' });
    expect(parseServerMessage('{"kind":"room","participants":3,"status":"open"}')?.kind).toBe('room');
    expect(parseServerMessage('{"kind":"surprise"}')).toBeNull();
    expect(parseServerMessage('not json')).toBeNull();
    expect(parseServerMessage('null')).toBeNull();
  });

  it('keeps positions whole numbers from 0 to 100', () => {
    expect(clampPosition(49.6)).toBe(50);
    expect(clampPosition(-3)).toBe(0);
    expect(clampPosition(140)).toBe(100);
    expect(clampPosition(Number.NaN)).toBe(50);
  });

  it('describes a position in words (the slider reads them out)', () => {
    expect(describePosition(null)).toBe('not rated yet');
    expect(describePosition(0)).toBe('not great');
    expect(describePosition(50)).toBe('okay');
    expect(describePosition(80)).toBe('pretty good');
    expect(describePosition(100)).toBe('love it');
  });
});
