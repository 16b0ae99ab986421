import { parseRoute, routePath, type Route } from './routes.ts';

/** The current view, from the address bar (history API); filters live in its query string. */
class Router {
  route = $state<Route>(parseRoute(location.pathname));
  query = $state(new URLSearchParams(location.search));

  constructor() {
    addEventListener('popstate', () => this.#read());
  }

  go(to: Route | string, options: { replace?: boolean } = {}): void {
    const path = typeof to === 'string' ? to : routePath(to);
    if (path === location.pathname + location.search) return;
    if (options.replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    this.#read();
    if (!options.replace) scrollTo(0, 0);
  }

  /** Updates the query string of the current view (filters), without a new history entry. */
  setQuery(values: Record<string, string | undefined>): void {
    const query = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(values)) {
      if (value) query.set(key, value);
      else query.delete(key);
    }
    const search = query.toString();
    history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}`);
    this.query = query;
  }

  #read(): void {
    this.route = parseRoute(location.pathname);
    this.query = new URLSearchParams(location.search);
  }
}

export const router = new Router();

/** onclick for in-app links: plain clicks navigate in place; modified clicks open a tab as usual. */
export function link(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey || anchor.target) return;
  event.preventDefault();
  router.go(anchor.pathname + anchor.search);
}
