import { describe, expect, it } from 'vitest';
import { clampPosition, codeFromPath, describePosition, normalizeCode, parseServerMessage, questionLength, sortQuestions } from '../../../dashboard/src/audience/protocol.ts';

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

  it('orders questions by votes, then the oldest first; counts characters as the gateway does', () => {
    const q = (id: number, votes: number, at: number) => ({ id, text: `q${id}`, votes, status: 'open' as const, at });
    expect(sortQuestions([q(1, 0, 10), q(2, 3, 30), q(3, 3, 20), q(4, 1, 5)]).map((x) => x.id)).toEqual([3, 2, 4, 1]);
    expect(questionLength('  two\n\nwords 🤔 ')).toBe(11);
    expect(parseServerMessage('{"kind":"questions","full":true,"questions":[],"removed":[],"approval":false,"onScreen":null}')).toMatchObject({ kind: 'questions' });
    expect(parseServerMessage('{"kind":"questions","questions":"<b>"}')).toBeNull();
  });
});
