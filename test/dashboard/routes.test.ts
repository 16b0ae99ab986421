import { describe, expect, it } from 'vitest';
import { parseRoute, routePath, type Route } from '../../dashboard/src/lib/routes.ts';

describe('routes', () => {
  it('parses every view from its path', () => {
    expect(parseRoute('/')).toEqual({ view: 'map' });
    expect(parseRoute('/objects')).toEqual({ view: 'objects' });
    expect(parseRoute('/objects/todo/a%2Fb')).toEqual({ view: 'object', type: 'todo', id: 'a/b' });
    expect(parseRoute('/nodes/node-a')).toEqual({ view: 'node', name: 'node-a' });
    expect(parseRoute('/storage/todo')).toEqual({ view: 'storage', type: 'todo' });
    expect(parseRoute('/storage/todo/x')).toEqual({ view: 'stored', type: 'todo', id: 'x' });
    expect(parseRoute('/events/')).toEqual({ view: 'events' });
    // `/metrics` belongs to the admin API (Prometheus); the metrics view lives at /charts.
    expect(parseRoute('/charts')).toEqual({ view: 'metrics' });
    expect(routePath({ view: 'metrics' })).toBe('/charts');
    expect(parseRoute('/audience')).toEqual({ view: 'audience' });
    expect(parseRoute('/audience/ABCDE')).toEqual({ view: 'talk', code: 'ABCDE' });
    expect(parseRoute('/present/ABCDE')).toEqual({ view: 'present', code: 'ABCDE' });
    expect(parseRoute('/present')).toEqual({ view: 'not-found', path: '/present' });
    expect(parseRoute('/audience/ABCDE/x')).toEqual({ view: 'not-found', path: '/audience/ABCDE/x' });
    expect(parseRoute('/objects/todo')).toEqual({ view: 'not-found', path: '/objects/todo' });
    expect(parseRoute('/nope')).toEqual({ view: 'not-found', path: '/nope' });
    expect(parseRoute('/objects/todo/%E0%A4%A')).toEqual({ view: 'object', type: 'todo', id: '%E0%A4%A' });
  });

  it('round-trips paths, encoding ids', () => {
    const routes: Route[] = [
      { view: 'map' }, { view: 'objects' }, { view: 'object', type: 'todo', id: 'a b/c?d' }, { view: 'nodes' },
      { view: 'node', name: 'node-a' }, { view: 'storage' }, { view: 'storage', type: 'todo' }, { view: 'stored', type: 'todo', id: 'x#1' },
      { view: 'events' }, { view: 'metrics' }, { view: 'audit' }, { view: 'audience' }, { view: 'talk', code: 'ABCDE' }, { view: 'present', code: 'ABCDE' },
    ];
    for (const route of routes) expect(parseRoute(routePath(route))).toEqual(route);
    expect(routePath({ view: 'object', type: 'todo', id: 'a b/c' })).toBe('/objects/todo/a%20b%2Fc');
  });
});
