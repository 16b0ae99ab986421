import { describe, expect, it } from 'vitest';
import {
  CODE_ALPHABET, CURATED_EMOJI, attendeeId, isDeviceId, newTalkCode, normalizeCode, parseClientMessage,
} from '@highlander/audience';
import { validateObjectId } from '@highlander/runtime';

/** What an audience client may send, and the names the audience uses (codes, device ids). */

describe('client messages', () => {
  it('accepts a position from 0 to 100 (as a whole number) and a curated emoji, each with an optional ref', () => {
    expect(parseClientMessage('{"kind":"position","value":42.4,"ref":"p1"}')).toEqual({ ok: true, message: { kind: 'position', value: 42, ref: 'p1' } });
    expect(parseClientMessage('{"kind":"position","value":100}')).toEqual({ ok: true, message: { kind: 'position', value: 100 } });
    for (const emoji of CURATED_EMOJI) {
      expect(parseClientMessage(JSON.stringify({ kind: 'emoji', emoji, ref: 'e' }))).toEqual({ ok: true, message: { kind: 'emoji', emoji, ref: 'e' } });
    }
  });

  it('refuses anything else with the reason and a message saying what to send, keeping the ref when it can', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['not json', 'malformed', /^not JSON/],
      ['[1,2]', 'malformed', /JSON object/],
      ['{"kind":"dance"}', 'malformed', /"kind" must be "position", "emoji", "ask" or "vote"/],
      ['{"kind":"position","value":101,"ref":"r"}', 'malformed', /from 0 \(not great\) to 100 \(love it\)/],
      ['{"kind":"position","value":"50"}', 'malformed', /must be a number/],
      ['{"kind":"position","value":null}', 'malformed', /must be a number/],
      ['{"kind":"position","value":5,"extra":1}', 'malformed', /only "kind", "value" and "ref"/],
      ['{"kind":"emoji","emoji":"💩","ref":"r"}', 'not-curated', /only these emoji are accepted: 👏/],
      ['{"kind":"emoji","emoji":"👏👏"}', 'not-curated', /only these emoji/],
      [`{"kind":"emoji","emoji":"👏","ref":"${'x'.repeat(33)}"}`, 'malformed', /"ref" must be a string of 1 to 32 characters/],
    ];
    for (const [text, reason, message] of cases) {
      const parsed = parseClientMessage(text);
      expect(parsed.ok, text).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.reason, text).toBe(reason);
      expect(parsed.message, text).toMatch(message);
    }
    const withRef = parseClientMessage('{"kind":"emoji","emoji":"💩","ref":"r7"}');
    expect(withRef.ok === false && withRef.ref).toBe('r7');
  });
});

describe('names', () => {
  it('room codes: 4-8 unambiguous letters and digits, typed in any case', () => {
    expect(normalizeCode(' abcde ')).toBe('ABCDE');
    expect(normalizeCode('ABC')).toBeNull();
    expect(normalizeCode('ABCDEFGHJ')).toBeNull();
    expect(normalizeCode('ABCD0')).toBeNull(); // 0 and O look alike: neither is used
    expect(normalizeCode('IL1O')).toBeNull();
    for (let i = 0; i < 200; i++) {
      const code = newTalkCode();
      expect(normalizeCode(code)).toBe(code);
      expect([...code].every((c) => CODE_ALPHABET.includes(c))).toBe(true);
    }
  });

  it('device ids are 16-64 of A-Z a-z 0-9 _ -, and an attendee id is a valid object id', () => {
    expect(isDeviceId('abcdefghij_-1234')).toBe(true);
    expect(isDeviceId('short')).toBe(false);
    expect(isDeviceId('a'.repeat(65))).toBe(false);
    expect(isDeviceId('abcdefghij.12345')).toBe(false);
    expect(validateObjectId(attendeeId('ABCDEFGH', 'z'.repeat(64)))).toBe(`ABCDEFGH.${'z'.repeat(64)}`);
  });
});
