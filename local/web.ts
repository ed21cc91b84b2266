/**
 * The web page (web/: static HTML, one JS module, CSS) served by `npm start` at /app/, with the
 * headers a static host would be configured to send: a strict Content-Security-Policy and friends.
 * The page talks to the API on the same origin (web/config.json says `/v1`), so locally neither
 * the API nor the object store needs CORS.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import type { RouteHandler, Router } from './router';
import { sendProblem } from './http';

export const WEB_PATH = '/app/';
export const WEB_DIR = resolve(__dirname, '..', 'web');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page's policy. Scripts, styles, images and connections only from this origin (the API and
 * the object store share it) plus the WebSocket endpoint, whose `ws:` origin `'self'` does not
 * cover in every browser. The result viewer is an `<iframe sandbox srcdoc>`: it inherits this
 * policy, runs no script and has an opaque origin, so `frame-src` stays `'none'`. No inline
 * scripts or styles anywhere, no `<base>`, no form posts, and nobody may frame the page.
 */
export function contentSecurityPolicy(publicUrl: string): string {
  const websocket = new URL(publicUrl);
  websocket.protocol = websocket.protocol === 'https:' ? 'wss:' : 'ws:';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self' ${websocket.origin}`,
    "frame-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function webHeaders(publicUrl: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(publicUrl),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    // Small files that change with the checkout: always revalidate, never serve stale.
    'Cache-Control': 'no-cache',
  };
}

/**
 * Mounts `/` (a redirect) and `/app/…` on the router. Only the files in web/ are served, looked
 * up by exact name (no paths, no traversal); they are read once, at start-up.
 */
export function mountWebApp(router: Router, options: { publicUrl: () => string; webDir?: string }): void {
  const files = loadFiles(options.webDir ?? WEB_DIR);
  const serve: RouteHandler = ({ req, res, params }) => {
    const publicUrl = options.publicUrl();
    const other = loopbackAlias(req.headers.host, publicUrl);
    if (other === 'malformed') {
      return sendProblem(res, { status: 400, code: 'bad_host', detail: 'The Host header is not a host name or address with an optional port.' });
    }
    if (other === 'alias') {
      // Presigned URLs and WebSocket tickets name the public host: the page must run on it.
      res.writeHead(308, { Location: `${publicUrl}${req.url ?? WEB_PATH}`, 'Cache-Control': 'no-store' }).end();
      return;
    }
    const file = files.get(params.file ?? 'index.html');
    if (!file) return sendProblem(res, { status: 404, code: 'not_found', detail: 'No such file.' });
    res.writeHead(200, { ...webHeaders(publicUrl), 'Content-Type': file.contentType, 'Content-Length': file.body.byteLength });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
  router.on('GET', '/', ({ res }) => void res.writeHead(302, { Location: WEB_PATH, 'Cache-Control': 'no-store' }).end());
  router.on('GET', WEB_PATH, serve);
  router.on('HEAD', WEB_PATH, serve);
  router.on('GET', `${WEB_PATH}{file}`, serve);
  router.on('HEAD', `${WEB_PATH}{file}`, serve);
}

function loadFiles(dir: string): Map<string, { body: Buffer; contentType: string }> {
  const files = new Map<string, { body: Buffer; contentType: string }>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType || !statSync(path).isFile()) continue;
    files.set(name, { body: readFileSync(path), contentType });
  }
  return files;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * `alias` when the page was asked for under another loopback name than the public URL's
 * (`localhost` for `127.0.0.1`): the same server, but another origin to the browser, so the
 * object store's URLs and the WebSocket would be cross-origin. Other hosts are left alone (a
 * proxy in front may well rewrite the Host header). `malformed` when the Host header is no host
 * at all (`a b`, `[::1`): the client's error, answered 400 rather than thrown.
 */
function loopbackAlias(hostHeader: string | undefined, publicUrl: string): 'alias' | 'other' | 'malformed' {
  if (!hostHeader) return 'other';
  const wanted = new URL(publicUrl);
  let asked: URL;
  try {
    asked = new URL(`http://${hostHeader}`);
  } catch {
    return 'malformed';
  }
  return LOOPBACK.has(asked.hostname) && LOOPBACK.has(wanted.hostname) && asked.host !== wanted.host ? 'alias' : 'other';
}
