import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { TokenAuthenticator, originChecker, type TokenConfig } from '../../admin-api/src/auth.js';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('TokenAuthenticator', () => {
  it.each<[string, TokenConfig[], RegExp]>([
    ['no tokens', [], /at least one/],
    ['a token with a space', [{ token: 'a b', role: 'viewer', name: 'x' }], /tokens\[0\]\.token/],
    ['an unknown role', [{ token: 'abc', role: 'admin' as 'viewer', name: 'x' }], /tokens\[0\]\.role: must be one of viewer, operator/],
    ['no name', [{ token: 'abc', role: 'viewer', name: '' }], /tokens\[0\]\.name/],
    ['a repeated token', [{ token: 'abc', role: 'viewer', name: 'x' }, { token: 'abc', role: 'operator', name: 'y' }], /tokens\[1\]\.token: the same token/],
  ])('refuses %s with a TypeError naming the entry', (_, tokens, message) => {
    expect(() => new TokenAuthenticator(tokens)).toThrow(TypeError);
    expect(() => new TokenAuthenticator(tokens)).toThrow(message);
  });

  it('finds the holder of a token, from a header or a ws subprotocol', () => {
    const auth = new TokenAuthenticator([{ token: 'view-1', role: 'viewer', name: 'vera' }, { token: 'op-1', role: 'operator', name: 'otto' }]);
    expect(auth.verify('op-1')).toEqual({ name: 'otto', role: 'operator' });
    expect(auth.verify('op-')).toBeUndefined();
    expect(auth.fromAuthorization('Bearer view-1')).toEqual({ principal: { name: 'vera', role: 'viewer' } });
    expect(auth.fromAuthorization('Basic dmlldy0x')).toEqual({ problem: 'missing' });
    expect(auth.fromAuthorization('Bearer nope')).toEqual({ problem: 'unknown' });
    expect(auth.fromUpgrade(request({ 'sec-websocket-protocol': 'highlander.v1, bearer.op-1' }))).toEqual({ principal: { name: 'otto', role: 'operator' } });
  });
});

describe('originChecker', () => {
  it('refuses a list entry that is not an origin', () => {
    expect(() => originChecker(['dashboard.example'])).toThrow(/allowedOrigins\[0\]/);
    expect(() => originChecker(['https://dashboard.example/app'])).toThrow(/no path/);
  });

  it('allows no Origin, the same origin, and listed ones; refuses the rest', () => {
    const check = originChecker(['https://dashboard.example']);
    expect(check(request({ host: 'admin:8080' }))).toBe(true);
    expect(check(request({ host: 'admin:8080', origin: 'http://admin:8080' }))).toBe(true);
    expect(check(request({ host: 'admin:8080', origin: 'https://dashboard.example' }))).toBe(true);
    expect(check(request({ host: 'admin:8080', origin: 'https://evil.example' }))).toBe(false);
    expect(check(request({ host: 'admin:8080', origin: 'null' }))).toBe(false);
    expect(check(request({ host: 'admin:8080', origin: 'http://admin:8081' }))).toBe(false);
  });
});
