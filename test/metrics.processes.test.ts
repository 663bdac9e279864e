import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCaddy } from './helpers/caddy.ts';
import { insertUser } from './helpers/db-users.ts';
import { eventually, freePort, spawnStockwatch } from './helpers/process.ts';
import { createTestApp, createTestDatabase, type TestApp } from './helpers/runtime.ts';
import { startSmtpServer } from './helpers/smtp.ts';

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v))
      return Number(m[3]);
  }
  return undefined;
}

function get(url: string, options: https.RequestOptions = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    (url.startsWith('https:') ? https : http)
      .get(url, options, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** deploy/Caddyfile run by the real Caddy: the API goes through, /metrics does not. */
describe('Caddy in front of a server', () => {
  let t: TestApp;
  let caddy: Awaited<ReturnType<typeof startCaddy>>;
  let httpsPort: number;
  let appPort: number;
  let ca: Buffer;

  beforeAll(async () => {
    const httpPort = await freePort();
    httpsPort = await freePort();
    t = await createTestApp('pglite', { env: { TRUST_PROXY: '127.0.0.1' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    appPort = (t.app.server.address() as { port: number }).port;
    caddy = await startCaddy({ upstream: `127.0.0.1:${appPort}`, httpPort, httpsPort });
    ca = caddy.ca;
  });
  afterAll(async () => {
    await caddy?.stop();
    await t?.close();
  });

  it('answers 404 for /metrics without asking the server, which still serves it directly', async () => {
    const before = await get(`http://127.0.0.1:${appPort}/metrics`);
    expect(before.status).toBe(200);
    const proxied = (p: string) =>
      sample(before.body, 'stockwatch_http_requests_total', { method: 'GET', route: p, status: '200' }) ?? 0;
    const healthBefore = proxied('/health');

    for (const p of ['/metrics', '/metrics/', '/metrics?name[]=x', '/METRICS'])
      expect((await get(`https://localhost:${httpsPort}${p}`, { ca })).status).toBe(404);
    expect((await get(`https://localhost:${httpsPort}/health`, { ca })).status).toBe(200);

    const after = await get(`http://127.0.0.1:${appPort}/metrics`);
    const count = (route: string) =>
      sample(after.body, 'stockwatch_http_requests_total', { method: 'GET', route, status: '200' }) ?? 0;
    // The health request went through; none of the /metrics ones reached the server (only ours did).
    expect(count('/health')).toBeGreaterThan(healthBefore);
    expect(count('/metrics')).toBe(1);
  });
});

/** `stockwatch notifier` with METRICS_PORT: its own /health and /metrics, counting what it sends. */
describe('a notifier process with METRICS_PORT', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpServer();
    t = await createTestApp('postgres', { databaseUrl: database.url });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    await database.drop();
  });

  it('serves /health and /metrics, and counts the deliveries it sent', async () => {
    const port = await freePort();
    const notifier = spawnStockwatch(['notifier'], {
      DATABASE_URL: database.url,
      DATA_DIR: t.dataDir,
      SMTP_URL: smtp.url,
      NOTIFIER_SWEEP_INTERVAL: '300ms',
      METRICS_PORT: String(port),
    });
    try {
      await notifier.waitForOutput(/notifier started/, 60_000);
      const base = `http://127.0.0.1:${port}`;
      expect(await get(`${base}/health`)).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect((await get(`${base}/nothing`)).status).toBe(404);

      const user = await insertUser(t.runtime, 'ops-port@example.com');
      await t.runtime.services.notifications.create({ id: user.id }, {
        symbol: 'OPS',
        condition: 'price > 1',
        threshold: 1,
      } as never);
      await t.runtime.services.prices.ingest({
        symbol: 'OPS',
        timestamp: new Date().toISOString(),
        price: 2,
        volume: 1,
      });
      await smtp.waitFor(1, 60_000);
      // A scrape reads the pending count from the database while the send may still be recording:
      // the two agree once the delivery is marked sent.
      const text = await eventually(async () => {
        const { body } = await get(`${base}/metrics`);
        const sent = sample(body, 'stockwatch_deliveries_sent_total', { channel: 'email' });
        return sent === 1 && sample(body, 'stockwatch_deliveries_pending') === 0 && body;
      }, 30_000);
      expect(sample(text, 'stockwatch_deliveries_sent_total', { channel: 'email' })).toBe(1);
      expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect(await notifier.kill('SIGTERM')).toBe(0);
    } finally {
      await notifier.kill('SIGKILL');
    }
  });
});
