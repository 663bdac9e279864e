import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerErrorHandling } from '../src/http/errors.ts';
import { registerWeb } from '../src/http/web.ts';

/**
 * How the server serves the built dashboard (src/http/web.ts), on a bare Fastify with a stand-in API
 * route: assets, the SPA fallback for browser navigations, the API's JSON for everyone else, and the
 * page that says to build the dashboard when it is missing.
 */

const NAVIGATE = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-dest': 'document' };
const INDEX = '<!doctype html><title>dashboard</title><div id="root"></div>';

async function appWith(root: string) {
  const app = Fastify();
  registerErrorHandling(app);
  app.get('/notifications', async () => ({ data: [] }));
  app.get('/notifications/:id', async () => ({ id: 'n1' }));
  await registerWeb(app, { root });
  await app.ready();
  return app;
}

describe('serving the dashboard', () => {
  let root: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'stockwatch-web-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), INDEX);
    writeFileSync(path.join(root, 'assets/index-abc123.js'), 'console.log(1)');
    writeFileSync(path.join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    app = await appWith(root);
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / and for unknown paths a browser navigates to, never cached', async () => {
    for (const url of ['/', '/symbols/AAPL', '/settings', '/some/page']) {
      const response = await app.inject({ url, headers: NAVIGATE });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.body).toBe(INDEX);
    }
  });

  it('serves hashed assets for a year and other files as they are', async () => {
    const asset = await app.inject({ url: '/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toContain('javascript');
    expect(asset.headers['cache-control']).toContain('immutable');
    const icon = await app.inject({ url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toContain('image/svg+xml');
  });

  it('gives a page that shares its path with the API to browsers, and JSON to everyone else', async () => {
    const page = await app.inject({ url: '/notifications/n1', headers: NAVIGATE });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers.vary).toContain('Sec-Fetch-Dest');
    const json = await app.inject({ url: '/notifications/n1', headers: { accept: 'application/json' } });
    expect(json.json()).toEqual({ id: 'n1' });
    // A fetch() from the page that asks for HTML is still not a navigation.
    const fetched = await app.inject({
      url: '/notifications',
      headers: { accept: 'text/html', 'sec-fetch-dest': 'empty' },
    });
    expect(fetched.json()).toEqual({ data: [] });
  });

  it('answers 404 problems to non-HTML requests for unknown paths, and never serves files outside the build', async () => {
    const missing = await app.inject({ url: '/nope', headers: { accept: 'application/json' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect((await app.inject({ url: '/assets/missing.js' })).statusCode).toBe(404);
    for (const url of [
      '/assets/..%2f..%2fetc%2fpasswd',
      '/..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/etc/passwd',
    ])
      expect((await app.inject({ url })).body, url).not.toContain('root:');
  });

  it('asks for `npm run build:web` while the dashboard is not built', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'stockwatch-web-empty-'));
    const bare = await appWith(empty);
    try {
      const response = await bare.inject({ url: '/', headers: NAVIGATE });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('npm run build:web');
      // The API is unaffected.
      expect((await bare.inject({ url: '/notifications' })).json()).toEqual({ data: [] });
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
