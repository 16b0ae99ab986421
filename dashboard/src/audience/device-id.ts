import { isDeviceId } from './protocol.ts';

/**
 * The audience page's anonymous device id: random, kept in local storage under `highlander.device`
 * so a reload (or coming back later) is the same participant, and the talk gives back its slider
 * position. Pure apart from what is passed in; unit-tested.
 */

export const DEVICE_KEY = 'highlander.device';

/** What the page needs of `localStorage` (which may refuse: private modes, storage disabled). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 22 characters of 64 (132 bits): `fill` fills a byte array with random bytes (crypto.getRandomValues). */
export function newDeviceId(fill: (bytes: Uint8Array<ArrayBuffer>) => void, length = 22): string {
  const bytes = new Uint8Array(new ArrayBuffer(length));
  fill(bytes);
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}

/**
 * The stored id if it is a valid one, else a new one (stored). Without usable storage the id lives
 * as long as the page: the person still takes part, a reload just counts as someone new.
 */
export function loadDeviceId(store: KeyValueStore | null, fill: (bytes: Uint8Array<ArrayBuffer>) => void): { id: string; persisted: boolean } {
  let stored: string | null = null;
  try {
    stored = store?.getItem(DEVICE_KEY) ?? null;
  } catch {
    // storage refused (a privacy mode): a fresh id below
  }
  if (isDeviceId(stored)) return { id: stored, persisted: true };
  const id = newDeviceId(fill);
  try {
    if (!store) return { id, persisted: false };
    store.setItem(DEVICE_KEY, id);
    return { id, persisted: true };
  } catch {
    return { id, persisted: false };
  }
}
