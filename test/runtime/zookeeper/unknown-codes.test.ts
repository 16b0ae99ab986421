import { describe, expect, it } from 'vitest';
import { Exception, zkCodeName } from '@highlander/runtime/zookeeper';

// The client library's own factory, as its socket handler calls it for every error answer.
const create = (Exception as unknown as { create(code: number, path?: string): Error & { getCode(): number; name: string } }).create;

describe('ZooKeeper error codes newer than the client library', () => {
  it('fail the one request with the server’s code instead of throwing from the socket handler', () => {
    const error = create(-12, '/highlander/objects');
    expect(error.getCode()).toBe(-12);
    expect(error.name).toBe('UNKNOWN_SESSION');
    expect(error.message).toBe('Exception: UNKNOWN_SESSION[-12]@/highlander/objects');
    expect(zkCodeName(-12)).toBe('UNKNOWN_SESSION');
  });

  it('name a code nobody knows by its number', () => {
    const error = create(-4242);
    expect(error.getCode()).toBe(-4242);
    expect(error.name).toBe('CODE_-4242');
    expect(zkCodeName(-4242)).toBe('CODE_-4242');
  });

  it('leave the codes the library knows as they were', () => {
    const error = create(Exception.NO_NODE, '/x');
    expect(error.getCode()).toBe(Exception.NO_NODE);
    expect(error.name).toBe('NO_NODE');
  });
});
