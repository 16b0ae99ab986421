import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KINDS, EVENT_KINDS, KINDS_BY_CATEGORY, categoryOf, categoryState, describeEvent, filterFromQuery, filterToQuery, matchesFilter,
  toggleCategory, type EventFilter,
} from '../../dashboard/src/lib/event-kinds.ts';
import type { ModelEvent } from '@highlander/admin-api/protocol';

/** An event of any kind with any fields: a newer server may send kinds this dashboard does not know. */
const event = (kind: string, fields: Record<string, unknown> = {}): ModelEvent => ({ kind, cursor: 1, seq: 1, node: 'node-a', time: 0, ...fields }) as unknown as ModelEvent;
const filter = (over: Partial<EventFilter> = {}): EventFilter => ({ kinds: new Set(DEFAULT_KINDS), node: '', object: '', ...over });

describe('categoryOf', () => {
  it('puts every kind the runtime emits in a category', () => {
    expect(categoryOf(event('lock.acquired'))).toBe('lock');
    expect(categoryOf(event('object.activated'))).toBe('lifecycle');
    expect(categoryOf(event('object.fenced'))).toBe('failure');
    expect(categoryOf(event('object.persist-failed'))).toBe('failure');
    expect(categoryOf(event('node.session-lost'))).toBe('failure');
    expect(categoryOf(event('stats'))).toBe('stats');
    expect(Object.keys(EVENT_KINDS)).toHaveLength(17);
  });

  it('counts a deactivation because ownership was lost as a failure', () => {
    expect(categoryOf(event('object.deactivated', { reason: 'fenced' }))).toBe('failure');
    expect(categoryOf(event('object.deactivated', { reason: 'session-lost' }))).toBe('failure');
    expect(categoryOf(event('object.deactivated', { reason: 'idle' }))).toBe('lifecycle');
  });

  it('shows a kind it does not know as lifecycle', () => {
    expect(categoryOf(event('object.teleported'))).toBe('lifecycle');
  });
});

describe('describeEvent', () => {
  it('says what happened with the fields of the kind', () => {
    expect(describeEvent(event('lock.acquired', { epoch: '42', waitedMs: 3.5 }))).toBe('epoch 42 after waiting 3.5 ms');
    expect(describeEvent(event('object.migrated', { from: 'node-a', to: 'node-b', durationMs: 1500 }))).toBe('node-a → node-b in 1.5 s');
    expect(describeEvent(event('object.activated', { epoch: '7', version: 3, stored: true, loadMs: 12 }))).toBe('epoch 7, version 3 loaded in 12 ms');
    expect(describeEvent(event('object.activated', { epoch: '7', version: 0, stored: false, loadMs: 0.5 }))).toBe('epoch 7, new (nothing stored) in 0.50 ms');
    expect(describeEvent(event('object.persist-failed', { calls: 2, error: 'PreconditionFailed' }))).toBe('2 calls not persisted: PreconditionFailed');
  });

  it('sums a stats event over its types', () => {
    const stats = event('stats', { intervalMs: 2000, activations: 40, byType: { todo: { calls: 8, errors: 1 }, list: { calls: 3, errors: 0 } } });
    expect(describeEvent(stats)).toBe('11 calls (1 error) in 2.0 s · 5.5/s · 40 active');
    const refused = event('stats', { intervalMs: 1000, activations: 2, byType: { todo: { calls: 6, errors: 2, rejected: 1 }, list: { calls: 4, errors: 0, rejected: 3 } } });
    expect(describeEvent(refused)).toBe('10 calls (2 errors, 4 rejected) in 1.0 s · 10/s · 2 active');
    const onlyRejected = event('stats', { intervalMs: 1000, activations: 1, byType: { list: { calls: 2, errors: 0, rejected: 2 } } });
    expect(describeEvent(onlyRejected)).toBe('2 calls (2 rejected) in 1.0 s · 2/s · 1 active');
  });

  it('does not throw on missing fields', () => {
    expect(describeEvent(event('object.deactivated'))).toContain('?');
    expect(describeEvent(event('object.teleported'))).toBe('');
  });
});

describe('matchesFilter', () => {
  it('hides stats by default and shows everything else', () => {
    expect(matchesFilter(event('stats'), filter())).toBe(false);
    expect(matchesFilter(event('lock.queued'), filter())).toBe(true);
  });

  it('keeps only the chosen node', () => {
    expect(matchesFilter(event('node.up', { node: 'node-b' }), filter({ node: 'node-a' }))).toBe(false);
    expect(matchesFilter(event('node.up'), filter({ node: 'node-a' }))).toBe(true);
  });

  it('matches the object text anywhere in type/id, ignoring case, and drops events without an object', () => {
    const e = event('object.activated', { type: 'todo', id: 'Ab12' });
    expect(matchesFilter(e, filter({ object: 'ab1' }))).toBe(true);
    expect(matchesFilter(e, filter({ object: 'todo/ab' }))).toBe(true);
    expect(matchesFilter(e, filter({ object: 'list' }))).toBe(false);
    expect(matchesFilter(event('node.up'), filter({ object: 'ab' }))).toBe(false);
  });
});

describe('categories', () => {
  it('toggles every kind of a category, and tells whether it is partly shown', () => {
    const noLocks = toggleCategory(DEFAULT_KINDS, 'lock');
    expect(categoryState(noLocks, 'lock')).toBe('none');
    const oneLock = new Set([...noLocks, 'lock.acquired']);
    expect(categoryState(oneLock, 'lock')).toBe('some');
    expect(categoryState(toggleCategory(oneLock, 'lock'), 'lock')).toBe('all');
  });
});

describe('filter in the URL', () => {
  it('leaves the default out of the URL', () => {
    expect(filterToQuery(filter())).toEqual({ show: undefined, node: undefined, object: undefined });
    expect(filterFromQuery(new URLSearchParams(''))).toEqual(filter());
  });

  it('writes whole categories by name and single kinds otherwise, and reads them back', () => {
    const kinds = new Set([...KINDS_BY_CATEGORY.failure, ...KINDS_BY_CATEGORY.stats, 'lock.acquired']);
    const query = filterToQuery({ kinds, node: 'node-b', object: 'todo/' });
    expect(query).toEqual({ show: 'lock.acquired,failure,stats', node: 'node-b', object: 'todo/' });
    const back = filterFromQuery(new URLSearchParams(query as Record<string, string>));
    expect([...back.kinds].sort()).toEqual([...kinds].sort());
    expect(back.node).toBe('node-b');
  });

  it('keeps "nothing shown" distinct from the default, and ignores unknown names', () => {
    expect(filterToQuery(filter({ kinds: new Set() })).show).toBe('none');
    expect(filterFromQuery(new URLSearchParams('show=none')).kinds.size).toBe(0);
    expect([...filterFromQuery(new URLSearchParams('show=bogus,lock.queued')).kinds]).toEqual(['lock.queued']);
  });
});
