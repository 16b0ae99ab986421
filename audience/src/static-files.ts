import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

/**
 * The two kinds of files the audience gateway serves from the built dashboard: the audience page
 * (`audience.html`, Vite's second entry) and the hashed `assets/` it loads. Nothing else of the
 * dashboard directory is reachable.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

/** What the audience page may load and connect to: itself and its own ws. */
const PAGE_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/** The "type your code" page at `/`: a form, no script, styled inline; the gateway redirects `/a?code=…` to the room. */
const JOIN_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

function joinPageHtml(error: string | null): string {
  const escaped = error === null ? '' : error.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Join the talk</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; min-height: 100vh; display: grid; place-items: center; background: #101418; color: #f2f4f6; }
  form { display: grid; gap: 1rem; padding: 2rem; width: min(22rem, 90vw); }
  h1 { font-size: 1.6rem; margin: 0; }
  label { font-size: 1rem; color: #b8c2cc; }
  input { font-size: 2rem; letter-spacing: 0.3em; text-transform: uppercase; padding: 0.6rem; border-radius: 0.5rem; border: 2px solid #3a4550; background: #1b2228; color: inherit; text-align: center; }
  button { font-size: 1.2rem; padding: 0.8rem; border-radius: 0.5rem; border: 0; background: #3d8bfd; color: white; }
  p.error { color: #ff8a80; margin: 0; }
</style>
</head>
<body>
<form method="get" action="/a">
  <h1>Join the talk</h1>
  <label for="code">The code on the presenter's screen</label>
  <input id="code" name="code" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="8" required autofocus>
  ${escaped ? `<p class="error">${escaped}</p>` : ''}
  <button type="submit">Join</button>
</form>
</body>
</html>
`;
}

export class StaticFiles {
  readonly #page: string | null;
  readonly #assets: string | null;

  /** `dashboardDir`: the built dashboard, or null when this gateway serves no page. */
  constructor(dashboardDir: string | null) {
    this.#page = dashboardDir === null ? null : join(dashboardDir, 'audience.html');
    this.#assets = dashboardDir === null ? null : resolve(dashboardDir, 'assets');
  }

  /** The audience page, or a plain 503 saying how to get it. */
  async page(res: ServerResponse, head: boolean): Promise<void> {
    if (this.#page === null) {
      text(res, 503, 'This audience gateway serves no page: start it with dashboardDir (the dashboardDir of @highlander/dashboard), as `highlander node` does.\n');
      return;
    }
    const info = await stat(this.#page).catch(() => null);
    if (!info?.isFile()) {
      text(res, 503, `The audience page is not built on this server: ${this.#page} is missing (in a checkout, run \`npm run build:dashboard\`).\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES['.html']!, 'content-length': info.size, 'cache-control': 'no-cache',
      'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
    });
    if (head) res.end();
    else createReadStream(this.#page).pipe(res);
  }

  /** The "type your code" page (`error`: why the last code was not taken, shown as text). */
  joinPage(res: ServerResponse, head: boolean, error: string | null = null): void {
    const body = joinPageHtml(error);
    res.writeHead(error === null ? 200 : 404, {
      'content-type': CONTENT_TYPES['.html']!, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache',
      'content-security-policy': JOIN_PAGE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
    });
    res.end(head ? undefined : body);
  }

  /** One file under assets/ (`name` is the part after `/assets/`); 404 for anything else. */
  async asset(name: string, res: ServerResponse, head: boolean): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      text(res, 400, 'bad asset path\n');
      return;
    }
    if (this.#assets === null) {
      text(res, 404, 'no such asset\n');
      return;
    }
    const path = resolve(this.#assets, decoded);
    // Nothing outside assets/ (no `..`, no absolute paths), and only plain files.
    const info = path.startsWith(this.#assets + sep) ? await stat(path).catch(() => null) : null;
    if (!info?.isFile()) {
      text(res, 404, 'no such asset\n');
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream', 'content-length': info.size,
      // Vite's asset names carry a content hash.
      'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff',
    });
    if (head) res.end();
    else createReadStream(path).pipe(res);
  }
}

export function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers }).end(body);
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers }).end(JSON.stringify(body));
}
