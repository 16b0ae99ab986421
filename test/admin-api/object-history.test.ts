import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LifecycleEvent, LifecycleEventBody } from '@highlander/runtime';
import { ObjectHistory } from '@highlander/admin-api';

/** The ownership history's folding, bounds and file (admin-api/src/object-history.ts), on a real file in a temp dir. */

let dir: string;
let open: ObjectHistory[] = [];
let seq = 0;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'highlander-history-'));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  await rm(dir, { recursive: true, force: true });
});

async function history(options: { maxEntriesPerObject?: number; maxEntries?: number } = {}): Promise<ObjectHistory> {
  const h = await ObjectHistory.open({ path: join(dir, 'object-history.jsonl'), ...options });
  open.push(h);
  return h;
}

async function reopen(h: ObjectHistory, options: { maxEntriesPerObject?: number; maxEntries?: number } = {}): Promise<ObjectHistory> {
  await h.close();
  open = open.filter((o) => o !== h);
  return history(options);
}

const event = (node: string, time: number, body: LifecycleEventBody): LifecycleEvent => ({ ...body, node, time, seq: ++seq }) as LifecycleEvent;
const activated = (node: string, id: string, epoch: string, time: number) =>
  event(node, time, { kind: 'object.activated', type: 'todo', id, epoch, version: 1, stored: true, loadMs: 3 });
const deactivated = (node: string, id: string, epoch: string, time: number, reason: 'idle' | 'evicted' | 'migrated', activeMs: number) =>
  event(node, time, { kind: 'object.deactivated', type: 'todo', id, epoch, reason, activeMs });

describe('object history', () => {
  it('folds activations, deactivations with their reason, migrations and fenced writes, newest first', async () => {
    const h = await history();
    h.record(activated('node-a', 'a', '100', 1000));
    h.record(deactivated('node-a', 'a', '100', 5000, 'evicted', 4000));
    h.record(activated('node-b', 'a', '200', 6000));
    // A migration: the new owner's activation may arrive before the old one's deactivation (two streams).
    h.record(activated('node-c', 'a', '300', 9000));
    h.record(deactivated('node-b', 'a', '200', 8900, 'migrated', 2900));
    h.record(event('node-b', 9001, { kind: 'object.migrated', type: 'todo', id: 'a', from: 'node-b', to: 'node-c', durationMs: 120 }));
    h.record(event('node-b', 9500, { kind: 'object.fenced', type: 'todo', id: 'a', epoch: '200' }));
    // Other objects and other kinds of events do not show.
    h.record(activated('node-a', 'b', '400', 9600));
    h.record(event('node-a', 9700, { kind: 'lock.queued', type: 'todo', id: 'a', position: 1, owner: 'node-c' }));

    const page = h.query('todo', 'a', { limit: 100 });
    expect(page.cursor).toBeUndefined();
    expect(page.items.map(({ seq: _, ...e }) => e)).toEqual([
      { kind: 'fenced', time: 9500, node: 'node-b', epoch: '200' },
      { kind: 'migration', time: 9001, from: 'node-b', to: 'node-c', durationMs: 120 },
      { kind: 'activation', node: 'node-c', epoch: '300', start: 9000, end: null, reason: null, activeMs: null },
      { kind: 'activation', node: 'node-b', epoch: '200', start: 6000, end: 8900, reason: 'migrated', activeMs: 2900 },
      { kind: 'activation', node: 'node-a', epoch: '100', start: 1000, end: 5000, reason: 'evicted', activeMs: 4000 },
    ]);
    expect(h.query('todo', 'never-seen', { limit: 10 }).items).toEqual([]);
  });

  it('closes the open activations of a node that lost its session or left without saying', async () => {
    const h = await history();
    h.record(activated('node-a', 'a', '1', 1000));
    h.record(activated('node-a', 'b', '2', 1000));
    h.record(activated('node-b', 'c', '3', 1000));
    h.record(event('node-a', 2000, { kind: 'node.session-lost', activationsDropped: 2 }));
    h.record(event('node-b', 3000, { kind: 'node.down', reason: 'left' }));
    expect(h.query('todo', 'a', { limit: 1 }).items[0]).toMatchObject({ end: 2000, reason: 'session-lost' });
    expect(h.query('todo', 'b', { limit: 1 }).items[0]).toMatchObject({ end: 2000, reason: 'session-lost' });
    expect(h.query('todo', 'c', { limit: 1 }).items[0]).toMatchObject({ end: 3000, reason: 'node-left' });
  });

  it('ends an activation whose end was never reported when a later one begins, and folds events sent again only once', async () => {
    const h = await history();
    const events = [
      activated('node-a', 'a', '1', 1000),
      activated('node-b', 'a', '2', 2000),
      event('node-b', 2500, { kind: 'object.migrated', type: 'todo', id: 'a', from: 'node-b', to: 'node-c', durationMs: 5 }),
    ];
    for (const e of events) h.record(e);
    // A node's stream replayed after a restart of the admin API: the same events again.
    for (const e of events) h.record(e);
    const items = h.query('todo', 'a', { limit: 10 }).items;
    expect(items.map((e) => e.kind)).toEqual(['migration', 'activation', 'activation']);
    expect(items[2]).toMatchObject({ epoch: '1', end: 2000, reason: 'unknown' });
    // Its real end, reported late, replaces the guess.
    h.record(deactivated('node-a', 'a', '1', 1900, 'idle', 900));
    expect(h.query('todo', 'a', { limit: 10 }).items[2]).toMatchObject({ epoch: '1', end: 1900, reason: 'idle', activeMs: 900 });
  });

  it('pages with `before`', async () => {
    const h = await history();
    for (let i = 0; i < 5; i++) h.record(activated('node-a', 'a', String(i), 1000 * i));
    const first = h.query('todo', 'a', { limit: 2 });
    expect(first.items.map((e) => e.kind === 'activation' && e.epoch)).toEqual(['4', '3']);
    const second = h.query('todo', 'a', { limit: 2, before: Number(first.cursor) });
    expect(second.items.map((e) => e.kind === 'activation' && e.epoch)).toEqual(['2', '1']);
    const last = h.query('todo', 'a', { limit: 2, before: Number(second.cursor) });
    expect(last.items.map((e) => e.kind === 'activation' && e.epoch)).toEqual(['0']);
    expect(last.cursor).toBeUndefined();
  });

  it('keeps at most maxEntriesPerObject per object and maxEntries in all, forgetting the objects changed longest ago', async () => {
    const h = await history({ maxEntriesPerObject: 3, maxEntries: 7 });
    for (let i = 0; i < 10; i++) h.record(activated('node-a', 'busy', String(i), 1000 + i));
    expect(h.query('todo', 'busy', { limit: 100 }).items.map((e) => e.kind === 'activation' && e.epoch)).toEqual(['9', '8', '7']);
    expect(h.size).toBe(3);
    for (const id of ['p', 'q', 'r', 's']) h.record(activated('node-a', id, `e-${id}`, 5000));
    expect(h.size).toBe(7);
    // One more: the object whose history changed longest ago (busy) goes, whole.
    h.record(activated('node-a', 't', 'e-t', 6000));
    expect(h.query('todo', 'busy', { limit: 100 }).items).toEqual([]);
    expect(h.size).toBe(5);
    expect(h.objects).toBe(5);
  });

  it('survives a restart, including entries changed after they were written', async () => {
    let h = await history();
    h.record(activated('node-a', 'a', '1', 1000));
    h.record(event('node-a', 1500, { kind: 'object.fenced', type: 'todo', id: 'a', epoch: '0' }));
    await h.flush();
    h.record(deactivated('node-a', 'a', '1', 2000, 'idle', 1000));
    const before = h.query('todo', 'a', { limit: 10 });
    h = await reopen(h);
    expect(h.query('todo', 'a', { limit: 10 })).toEqual(before);
    expect(h.skippedLines).toBe(0);
    // Numbering goes on after the kept entries.
    h.record(activated('node-b', 'a', '2', 3000));
    expect(h.query('todo', 'a', { limit: 1 }).items[0]!.seq).toBeGreaterThan(Math.max(...before.items.map((e) => e.seq)));
    // A node leaving after the restart still closes what was open before it.
    h.record(event('node-b', 4000, { kind: 'node.down', reason: 'left' }));
    expect(h.query('todo', 'a', { limit: 1 }).items[0]).toMatchObject({ end: 4000, reason: 'node-left' });
  });

  it('skips a torn last line (a crash mid-write) and lines that are not entries, and appends after them on a new line', async () => {
    let h = await history();
    h.record(activated('node-a', 'a', '1', 1000));
    await h.close();
    open = [];
    await appendFile(join(dir, 'object-history.jsonl'), 'not json\n{"kind":"activation","type":"todo","id":"a","seq":9,"no');
    h = await history();
    expect(h.skippedLines).toBe(2);
    expect(h.query('todo', 'a', { limit: 10 }).items).toHaveLength(1);
    h.record(activated('node-a', 'b', '2', 2000));
    h = await reopen(h);
    expect(h.query('todo', 'b', { limit: 10 }).items).toHaveLength(1);
    expect(h.skippedLines).toBe(2);
  });

  it('rewrites the file when it holds far more lines than entries, and applies smaller bounds on open', async () => {
    let h = await history({ maxEntriesPerObject: 2, maxEntries: 10 });
    for (let i = 0; i < 3000; i++) {
      h.record(activated('node-a', `o-${i % 5}`, String(i), i));
      if (i % 500 === 0) await h.flush();
    }
    await h.flush();
    const lines = (await readFile(join(dir, 'object-history.jsonl'), 'utf8')).split('\n').filter(Boolean);
    // At most twice the kept entries plus the slack of 1,000 lines, whatever was recorded.
    expect(lines.length).toBeLessThanOrEqual(2 * h.size + 1000);
    const kept = h.query('todo', 'o-4', { limit: 10 });
    h = await reopen(h, { maxEntriesPerObject: 1, maxEntries: 10 });
    expect(h.query('todo', 'o-4', { limit: 10 }).items).toEqual(kept.items.slice(0, 1));
    expect(h.size).toBe(5);
  });

  it('refuses bounds that contradict each other', async () => {
    await expect(ObjectHistory.open({ maxEntriesPerObject: 0 })).rejects.toThrow(/maxEntriesPerObject must be a positive integer/);
    await expect(ObjectHistory.open({ maxEntriesPerObject: 10, maxEntries: 5 })).rejects.toThrow(/cannot be more than maxEntries/);
  });
});
