import { describe, expect, it } from 'vitest';
import { DEVICE_KEY, loadDeviceId, newDeviceId, type KeyValueStore } from '../../../dashboard/src/audience/device-id.ts';
import { isDeviceId } from '../../../dashboard/src/audience/protocol.ts';

const random = (bytes: Uint8Array) => {
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) % 256;
};

function memoryStore(initial: Record<string, string> = {}): KeyValueStore & { data: Record<string, string> } {
  const data = { ...initial };
  return { data, getItem: (k) => data[k] ?? null, setItem: (k, v) => void (data[k] = v) };
}

describe('device id', () => {
  it('is 22 characters the gateway accepts', () => {
    const id = newDeviceId(random);
    expect(id).toHaveLength(22);
    expect(isDeviceId(id)).toBe(true);
    expect(isDeviceId(newDeviceId((b) => b.fill(255)))).toBe(true);
  });

  it('the gateway pattern: 16 to 64 of A-Z a-z 0-9 _ -', () => {
    expect(isDeviceId('a'.repeat(16))).toBe(true);
    expect(isDeviceId('a'.repeat(64))).toBe(true);
    expect(isDeviceId('a'.repeat(15))).toBe(false);
    expect(isDeviceId('a'.repeat(65))).toBe(false);
    expect(isDeviceId('abcdefghijklmno/')).toBe(false);
    expect(isDeviceId('abcdefgh ijklmnop')).toBe(false);
    expect(isDeviceId(null)).toBe(false);
  });

  it('is kept: a reload finds the same id', () => {
    const store = memoryStore();
    const first = loadDeviceId(store, random);
    expect(first.persisted).toBe(true);
    expect(store.data[DEVICE_KEY]).toBe(first.id);
    expect(loadDeviceId(store, () => { throw new Error('not needed'); })).toEqual(first);
  });

  it('replaces a stored value that is not a valid id', () => {
    const store = memoryStore({ [DEVICE_KEY]: 'tampered!' });
    const { id } = loadDeviceId(store, random);
    expect(isDeviceId(id)).toBe(true);
    expect(store.data[DEVICE_KEY]).toBe(id);
  });

  it('works without storage (private mode): an id for this page only', () => {
    const refusing: KeyValueStore = {
      getItem: () => { throw new Error('SecurityError'); },
      setItem: () => { throw new Error('QuotaExceededError'); },
    };
    const result = loadDeviceId(refusing, random);
    expect(isDeviceId(result.id)).toBe(true);
    expect(result.persisted).toBe(false);
    expect(loadDeviceId(null, random).persisted).toBe(false);
  });
});
