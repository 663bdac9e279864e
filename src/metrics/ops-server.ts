import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { bearerToken, createIngestTokenMatcher } from '../auth/ingest-token.ts';

export interface OpsServer {
  /** The port it listens on (useful when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * METRICS_PORT: a bare listener with `GET /health` and `GET /metrics` for roles that have no API
 * listener of their own (the notifier, the client), so that every container can be health-checked and
 * scraped the same way. Plain node:http: two fixed answers need no framework.
 */
export async function startOpsServer(options: {
  host: string;
  port: number;
  render: () => Promise<string>;
  contentType: string;
  /** METRICS_TOKEN: required as a bearer token on /metrics when set. */
  token?: string;
}): Promise<OpsServer> {
  const matches = options.token ? createIngestTokenMatcher(options.token) : undefined;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return json(405, { status: 'method not allowed' });
    if (path === '/health') return json(200, { status: 'ok' });
    if (path !== '/metrics') return json(404, { status: 'not found' });
    if (matches && !matches(bearerToken(request.headers.authorization)))
      return json(401, { status: 'missing or invalid metrics token' });
    options.render().then(
      (text) => response.writeHead(200, { 'content-type': options.contentType }).end(text),
      () => json(500, { status: 'metrics unavailable' }),
    );
  });
  // Idle keep-alive connections (a scraper's) must not hold a stopping process open.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Process metrics alone, for a role without a runtime (the client). */
export function processMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { registry, render: () => registry.metrics(), contentType: registry.contentType };
}
