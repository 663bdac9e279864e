import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PACKAGE_ROOT } from '../shared/paths.ts';

/** Where `npm run build:web` (vite build) writes the dashboard. */
export const WEB_ROOT = path.join(PACKAGE_ROOT, 'dist/web');

/**
 * Dashboard pages whose paths are also API paths (`/notifications`, `/alerts`, …). The email an alert
 * sends links to `/symbols/AAPL` and `/notifications/<id>`: a browser opening such a link navigates to
 * the page, an API client asking for the same path gets JSON. Keep in step with web/src/routes.ts.
 */
const PAGE_PATHS = [
  /^\/$/,
  /^\/symbols\/[^/]+$/,
  /^\/notifications(\/[^/]+)?$/,
  /^\/(alerts|mailbox|settings)$/,
];

const MISSING_BUILD_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stockwatch</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5">
<h1>Stockwatch</h1>
<p>The API is running, but the dashboard has not been built yet. Run <code>npm run build:web</code>
(<code>npm ci</code> does it too), then reload this page.</p>
<p>The API is documented at <a href="/docs">/docs</a>.</p>
</body></html>
`;

/**
 * Serves the dashboard built into `root`: hashed assets under /assets (cached for a year, outside the
 * rate limit: a page load is one counted request, not six), other files as they are, and index.html
 * for any other browser navigation so that the dashboard's own router handles the path. Requests that
 * do not accept HTML still get the API's 404 problem document. The build is looked up per request, so
 * building while the server runs works without a restart.
 */
export async function registerWeb(app: FastifyInstance, options: { root?: string } = {}) {
  const root = options.root ?? WEB_ROOT;

  // Added to the root instance, after the security headers, so the page carries the CSP and the others.
  app.addHook('onRequest', async (request, reply) => {
    if (!isNavigation(request)) return;
    const pathname = request.url.split('?')[0] ?? '/';
    if (!PAGE_PATHS.some((p) => p.test(pathname))) return;
    // The same URL answers JSON or HTML depending on who asks; caches must keep them apart.
    void reply.header('vary', 'Accept, Sec-Fetch-Dest');
    return sendIndex(reply, root);
  });

  await app.register(async (web) => {
    await web.register(fastifyStatic, { root, serve: false });
    const hide = { schema: { hide: true } };

    web.get<{ Params: { '*': string } }>(
      '/assets/*',
      { ...hide, config: { rateLimit: false } },
      async (request, reply) => {
        const file = `assets/${request.params['*']}`;
        if (!(await isFile(root, file))) return reply.callNotFound();
        return reply.sendFile(file, { immutable: true, maxAge: '365d' });
      },
    );

    web.get<{ Params: { '*': string } }>('/*', hide, async (request, reply) => {
      const file = request.params['*'];
      if (file && file !== 'index.html' && (await isFile(root, file)))
        return reply.sendFile(file, { maxAge: '1h' });
      if (!acceptsHtml(request)) return reply.callNotFound();
      return sendIndex(reply, root);
    });
  });
}

async function sendIndex(reply: FastifyReply, root: string) {
  const html = await readFile(path.join(root, 'index.html')).catch(() => undefined);
  void reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
  if (!html) return reply.code(503).send(MISSING_BUILD_PAGE);
  return reply.send(html);
}

/** A top-level page load by a browser: it asks for HTML, and (when it says) for a document. */
function isNavigation(request: FastifyRequest) {
  const dest = request.headers['sec-fetch-dest'];
  return acceptsHtml(request) && (dest === undefined || dest === 'document');
}

function acceptsHtml(request: FastifyRequest) {
  return (
    (request.method === 'GET' || request.method === 'HEAD') && /text\/html/.test(request.headers.accept ?? '')
  );
}

/** Whether `relative` names a file inside `root` (never outside it, whatever the dots say). */
async function isFile(root: string, relative: string) {
  const full = path.resolve(root, relative);
  if (!full.startsWith(root + path.sep)) return false;
  return (await stat(full).catch(() => undefined))?.isFile() ?? false;
}
