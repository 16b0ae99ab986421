import { describe, expect, it } from 'vitest';
import { rewriteElectionOpening } from '../../../scripts/servers/zookeeper-quorum-links.js';

/** ZooKeeper's election opening: int64 protocol version, int64 server id, int32 length, the address. */
function opening(version: bigint, sid: bigint, address: string, rest = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(20);
  header.writeBigInt64BE(version, 0);
  header.writeBigInt64BE(sid, 8);
  const bytes = Buffer.from(address);
  header.writeInt32BE(bytes.length, 16);
  return Buffer.concat([header, bytes, rest]);
}

describe('rewriteElectionOpening', () => {
  it('replaces the announced election address and keeps the version and id', () => {
    const original = opening(-65536n, 2n, '127.0.0.1:40001', Buffer.from('next'));
    const rewrite = rewriteElectionOpening(original, '127.0.0.1:51234')!;
    expect(rewrite.consumed).toBe(20 + '127.0.0.1:40001'.length);
    expect(rewrite.replacement).toEqual(opening(-65536n, 2n, '127.0.0.1:51234'));
  });

  it('rewrites the multi-address form (several addresses) to the one proxy address', () => {
    const original = opening(-65535n, 3n, '127.0.0.1:40001|127.0.0.2:40001');
    expect(rewriteElectionOpening(original, '127.0.0.1:51234')!.replacement).toEqual(opening(-65535n, 3n, '127.0.0.1:51234'));
  });

  it('asks for more bytes until the message is complete', () => {
    const whole = opening(-65536n, 1n, '127.0.0.1:40001');
    for (const length of [0, 7, 8, 19, 20, whole.length - 1]) expect(rewriteElectionOpening(whole.subarray(0, length), 'x:1')).toBeUndefined();
    expect(rewriteElectionOpening(whole, 'x:1')).toBeDefined();
  });

  it('lets the old opening (the id alone, no address) pass unchanged', () => {
    const old = Buffer.alloc(8);
    old.writeBigInt64BE(2n, 0);
    expect(rewriteElectionOpening(old, 'x:1')).toEqual({ consumed: 0, replacement: Buffer.alloc(0) });
  });

  it('refuses a length no ZooKeeper sends', () => {
    const bad = opening(-65536n, 1n, '');
    bad.writeInt32BE(1 << 20, 16);
    expect(() => rewriteElectionOpening(bad, 'x:1')).toThrow(/1048576 bytes/);
    bad.writeInt32BE(-1, 16);
    expect(() => rewriteElectionOpening(bad, 'x:1')).toThrow(/-1 bytes/);
  });
});
