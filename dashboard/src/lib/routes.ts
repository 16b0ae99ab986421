/**
 * The dashboard's URLs: every view has one, so a link or a reload shows the same thing.
 * Pure (no DOM), unit-tested.
 */
export type Route =
  | { view: 'map' }
  | { view: 'objects' }
  | { view: 'object'; type: string; id: string }
  | { view: 'nodes' }
  | { view: 'node'; name: string }
  | { view: 'storage'; type?: string }
  | { view: 'stored'; type: string; id: string }
  | { view: 'events' }
  | { view: 'metrics' }
  | { view: 'audit' }
  | { view: 'audience' }
  | { view: 'talk'; code: string }
  /** Presenter mode: one talk, full screen, for a projector. */
  | { view: 'present'; code: string }
  | { view: 'not-found'; path: string };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map(decodeSegment);
  const [first, second, third, ...rest] = parts;
  if (parts.length === 0 || (first === 'map' && parts.length === 1)) return { view: 'map' };
  if (rest.length === 0) {
    switch (first) {
      case 'objects':
        if (second === undefined) return { view: 'objects' };
        if (third !== undefined) return { view: 'object', type: second, id: third };
        break;
      case 'nodes':
        if (second === undefined) return { view: 'nodes' };
        if (third === undefined) return { view: 'node', name: second };
        break;
      case 'storage':
        if (second === undefined) return { view: 'storage' };
        if (third === undefined) return { view: 'storage', type: second };
        return { view: 'stored', type: second, id: third };
      case 'charts':
        // The metrics view: `/metrics` is the admin API's Prometheus endpoint.
        if (second === undefined) return { view: 'metrics' };
        break;
      case 'events':
      case 'audit':
        if (second === undefined) return { view: first };
        break;
      case 'audience':
        if (second === undefined) return { view: 'audience' };
        if (third === undefined) return { view: 'talk', code: second };
        break;
      case 'present':
        if (second !== undefined && third === undefined) return { view: 'present', code: second };
        break;
    }
  }
  return { view: 'not-found', path: pathname };
}

export function routePath(route: Route): string {
  const e = encodeURIComponent;
  switch (route.view) {
    case 'map': return '/';
    case 'object': return `/objects/${e(route.type)}/${e(route.id)}`;
    case 'node': return `/nodes/${e(route.name)}`;
    case 'storage': return route.type ? `/storage/${e(route.type)}` : '/storage';
    case 'stored': return `/storage/${e(route.type)}/${e(route.id)}`;
    case 'metrics': return '/charts';
    case 'talk': return `/audience/${e(route.code)}`;
    case 'present': return `/present/${e(route.code)}`;
    case 'not-found': return route.path;
    default: return `/${route.view}`;
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
