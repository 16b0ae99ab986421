import { describe, expect, it } from 'vitest';
import { checkToken } from '../../dashboard/src/lib/token-check.ts';

describe('checkToken', () => {
  it('accepts a token, without the spaces and line break a paste brings along', () => {
    expect(checkToken('  op-Token_1.2~x\n')).toEqual({ ok: true, token: 'op-Token_1.2~x' });
  });

  it('says what a browser could not send, and what to do', () => {
    expect(checkToken('abc def')).toEqual({ ok: false, message: expect.stringContaining('it contains a space or line break') });
    expect(checkToken('tökén')).toEqual({ ok: false, message: expect.stringContaining('it contains “ö”') });
    expect(checkToken('Bearer:abc')).toEqual({ ok: false, message: expect.stringMatching(/“:”.*Tokens use only A-Z a-z 0-9 - \. _ ~/) });
  });

  it('asks for a token when there is none', () => {
    expect(checkToken('   ')).toEqual({ ok: false, message: expect.stringContaining('Paste a viewer or operator token') });
  });
});
