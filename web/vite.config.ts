import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';
import { PAGE_PATHS } from './src/routes.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The server `npm run dev` forwards API calls to (start it with `npm start`). */
const target = process.env.STOCKWATCH_URL ?? 'http://127.0.0.1:3000';

/** Paths of the API; everything else is the dashboard. */
const API = [
  '/auth',
  '/me',
  '/tokens',
  '/stocks',
  '/client-status',
  '/notifications',
  '/alerts',
  '/mailbox',
  '/settings',
  '/events',
  '/openapi.json',
  '/docs',
  '/health',
  '/ready',
  '/metrics',
  '/operator',
];

export default defineConfig({
  root: here,
  plugins: [react()],
  build: {
    outDir: path.resolve(here, '../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // The server's CSP forbids inline scripts; keep every asset a file of its own.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: Object.fromEntries(
      API.map((prefix): [string, ProxyOptions] => [
        prefix,
        {
          target,
          // A browser opening a dashboard page that shares its path with the API (/notifications,
          // /alerts, …) gets the page, as from the server; fetches go through to the API.
          bypass: (req) => (isPageNavigation(req) ? '/index.html' : undefined),
          // No header rewriting: the Host and Origin of the page (this dev server on localhost) match, which
          // is what the server's CSRF check asks of a loopback origin when PUBLIC_URL is unset.
        },
      ]),
    ),
  },
});

function isPageNavigation(req: IncomingMessage) {
  const dest = req.headers['sec-fetch-dest'];
  const pathname = (req.url ?? '/').split('?')[0] ?? '/';
  return (
    /text\/html/.test(req.headers.accept ?? '') &&
    (dest === undefined || dest === 'document') &&
    PAGE_PATHS.some((p) => p.test(pathname))
  );
}
