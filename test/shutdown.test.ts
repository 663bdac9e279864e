import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { insertUser } from './helpers/db-users.ts';
import { eventually, freePort, type RunningProcess, spawnStockwatch } from './helpers/process.ts';
import { createTestApp, createTestDatabase, REDIS_URL, type TestApp } from './helpers/runtime.ts';
import { startSmtpServer } from './helpers/smtp.ts';
import { cookiesOf } from './helpers/users.ts';

/**
 * SIGTERM for every role, on real child processes: each stops taking work, finishes or releases what it
 * holds, closes its connections and exits 0 within SHUTDOWN_TIMEOUT; past it, the process is forced out.
 */
const TIMEOUT_MS = 10_000;
const INGEST_TOKEN = 'shutdown-test-ingest-token-0123456789';

/** Sends SIGTERM and resolves with the exit code and how long the process took to exit. */
async function terminate(child: RunningProcess) {
  const started = Date.now();
  const code = await child.kill('SIGTERM');
  return { code, elapsedMs: Date.now() - started };
}

const tempDir = (label: string) => mkdtempSync(path.join(tmpdir(), `stockwatch-shutdown-${label}-`));

function ingestBody(symbol: string, count: number) {
  const base = Date.now() - count * 1000;
  return JSON.stringify(
    Array.from({ length: count }, (_, i) => ({
      symbol,
      timestamp: new Date(base + i * 1000).toISOString(),
      price: 100 + (i % 7),
      volume: i,
    })),
  );
}

describe('stockwatch server', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = tempDir('server');
  });
  afterAll(async () => {
    await database.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startServer(extra: Record<string, string> = {}) {
    const port = await freePort();
    const server = spawnStockwatch(['server'], {
      DATABASE_URL: database.url,
      REDIS_URL,
      DATA_DIR: dataDir,
      PORT: String(port),
      INGEST_TOKEN,
      SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
      ...extra,
    });
    await server.waitForOutput(/Stockwatch is up/, 90_000);
    return { server, base: `http://127.0.0.1:${port}` };
  }

  it('ends live streams, lets a request in flight finish and commit, then exits 0', async () => {
    const { server, base } = await startServer();
    try {
      const signUp = await fetch(`${base}/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ email: 'shutdown@example.com', password: 'shutdown-password-1' }),
      });
      expect(signUp.status).toBe(200);
      const cookie = cookiesOf(signUp.headers.getSetCookie());

      // A dashboard's live stream: it must be ended by the server, not hold the shutdown open.
      const stream = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${base}/events`, { headers: { cookie } }, resolve).on('error', reject),
      );
      expect(stream.statusCode).toBe(200);
      const streamEnded = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.resume();
      });

      // A request in flight: headers and half the body sent, the rest after SIGTERM.
      const body = ingestBody('SHUT', 2000);
      const half = Math.floor(body.length / 2);
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request(
          `${base}/stocks`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${INGEST_TOKEN}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        request.on('error', reject);
        request.write(body.slice(0, half));
        // The server has surely read the headers by then; the request is in flight.
        setTimeout(() => {
          process.kill(server.child.pid!, 'SIGTERM');
          setTimeout(() => request.end(body.slice(half)), 500);
        }, 1500);
      });
      const started = Date.now();
      const response = await answer;
      expect(response.status).toBe(201);
      expect(JSON.parse(response.body)).toMatchObject({ inserted: 2000, duplicates: 0 });
      await streamEnded;
      const code = await server.exited;
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
      expect(server.output()).toMatch(/SIGTERM received, shutting down/);
      expect(server.output()).toMatch(/"msg":"stopped"/);

      // Committed: the prices are there for the next server.
      const t = await createTestApp('postgres', { databaseUrl: database.url });
      try {
        const rows = await queryRows<{ n: number }>(
          t.runtime.database.db,
          sql`SELECT count(*)::int AS n FROM prices WHERE symbol = 'SHUT'`,
        );
        expect(rows[0]?.n).toBe(2000);
      } finally {
        await t.app.close();
        await t.runtime.close();
      }
    } finally {
      await server.kill('SIGKILL');
    }
  });

  it('is forced out with exit code 1 when a request never completes within SHUTDOWN_TIMEOUT', async () => {
    const { server, base } = await startServer({ SHUTDOWN_TIMEOUT: '3s' });
    const request = http.request(`${base}/stocks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${INGEST_TOKEN}`,
        'content-type': 'application/json',
        'content-length': 1000,
      },
    });
    request.on('error', () => {});
    try {
      // Half a body, and never the rest: the close would wait forever.
      request.write('[{"symbol":"HANG"');
      await new Promise((r) => setTimeout(r, 1500));
      const { code, elapsedMs } = await terminate(server);
      expect(code).toBe(1);
      expect(elapsedMs).toBeGreaterThanOrEqual(2900);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
      expect(server.output()).toMatch(/not stopped after 3 s \(SHUTDOWN_TIMEOUT\): exiting anyway/);
    } finally {
      request.destroy();
      await server.kill('SIGKILL');
    }
  });
});

describe('stockwatch notifier', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;
  let owner: { id: string };
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpServer();
    t = await createTestApp('postgres', { databaseUrl: database.url });
    owner = await insertUser(t.runtime, 'shutdown-notifier@example.com');
    // One email per delivery: these tests count messages (alerts due together are otherwise grouped).
    await t.runtime.services.channels.saveSettings(owner, { group_window_seconds: 0, quiet_hours: null });
  });
  afterAll(async () => {
    smtp.release();
    await t.close();
    await smtp.close();
    await database.drop();
  });

  const startNotifier = () =>
    spawnStockwatch(['notifier'], {
      DATABASE_URL: database.url,
      DATA_DIR: t.dataDir,
      SMTP_URL: smtp.url,
      NOTIFIER_SWEEP_INTERVAL: '300ms',
      DELIVERY_LEASE: '5m',
      SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
    });

  /** A rule, a price that fires it, and its delivery's row. */
  async function fire() {
    const symbol = `SD${++n}`;
    await t.runtime.services.notifications.create({ id: owner.id }, {
      symbol,
      condition: 'price > 1',
      threshold: 1,
    } as never);
    await t.runtime.services.prices.ingest({
      symbol,
      timestamp: new Date().toISOString(),
      price: 2,
      volume: 1,
    });
    return symbol;
  }
  const deliveryOf = async (symbol: string) => {
    const rows = await queryRows<{
      status: string;
      attempts: number;
      lease_until: Date | null;
      leased_by: string | null;
    }>(
      t.runtime.database.db,
      sql`SELECT d.status, d.attempts, d.lease_until, d.leased_by
          FROM deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.symbol = ${symbol}`,
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  it('releases the lease of a send the SMTP server never answers, and exits 0 in time', async () => {
    smtp.holdReplies(true);
    const notifier = startNotifier();
    try {
      await notifier.waitForOutput(/notifier started/, 60_000);
      const symbol = await fire();
      await eventually(() => smtp.heldCount() === 1, 60_000);
      expect(await deliveryOf(symbol)).toMatchObject({ status: 'pending', attempts: 1 });

      const { code, elapsedMs } = await terminate(notifier);
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
      expect(notifier.output()).toMatch(/notifier stopped/);
      // Released, not left leased for DELIVERY_LEASE (5 minutes): due again at once, attempt not counted.
      expect(await deliveryOf(symbol)).toMatchObject({
        status: 'pending',
        attempts: 0,
        lease_until: null,
        leased_by: null,
      });
    } finally {
      await notifier.kill('SIGKILL');
      smtp.release();
    }
  });

  it('finishes the sends that complete during the shutdown: sent, once, not released', async () => {
    smtp.holdReplies(true);
    // Fired before the notifier starts, so that its first batch holds everything pending (the
    // delivery released by the previous test included): one batch is in flight at a time.
    const symbol = await fire();
    const pending = await queryRows<{ id: string }>(
      t.runtime.database.db,
      sql`SELECT id FROM deliveries WHERE status = 'pending'`,
    );
    const notifier = startNotifier();
    try {
      await notifier.waitForOutput(/notifier started/, 60_000);
      await eventually(() => smtp.heldCount() === pending.length, 60_000);
      const before = smtp.received.length;

      const exit = terminate(notifier);
      await new Promise((r) => setTimeout(r, 1000));
      smtp.release();
      const { code, elapsedMs } = await exit;
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
      expect(await deliveryOf(symbol)).toMatchObject({
        status: 'sent',
        attempts: 1,
        lease_until: null,
        leased_by: null,
      });
      const left = await queryRows<{ n: number }>(
        t.runtime.database.db,
        sql`SELECT count(*)::int AS n FROM deliveries WHERE status <> 'sent' OR lease_until IS NOT NULL`,
      );
      expect(left[0]?.n).toBe(0);
      expect(smtp.received.length - before).toBe(pending.length);
      expect(smtp.received.filter((m) => m.subject.startsWith(`${symbol} `))).toHaveLength(1);
    } finally {
      await notifier.kill('SIGKILL');
    }
  });
});

describe('stockwatch client', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp('pglite', { env: { INGEST_TOKEN } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  });
  afterAll(() => t.close());

  const startClient = (serverUrl: string, dataDir: string) =>
    spawnStockwatch(['client'], {
      MARKET_DATA_PROVIDER: 'simulator',
      SIMULATOR_INTERVAL_MS: '200',
      SYMBOLS: 'CLA,CLB',
      SERVER_URL: serverUrl,
      INGEST_TOKEN,
      DATA_DIR: dataDir,
      SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
    });

  it('stops polling, saves its state and exits 0', async () => {
    const dataDir = tempDir('client');
    const client = startClient(base, dataDir);
    try {
      await client.waitForOutput(/round 2:/, 60_000);
      const { code, elapsedMs } = await terminate(client);
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
      expect(client.output()).toMatch(/client stopped/);
      expect(existsSync(path.join(dataDir, 'client/state.json'))).toBe(true);
      const symbols = await t.runtime.services.prices.listSymbols();
      expect(symbols.map((s) => s.symbol)).toEqual(expect.arrayContaining(['CLA', 'CLB']));
    } finally {
      await client.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('exits 0 while the server is down and retries are pending, keeping every bar in its spool', async () => {
    const dataDir = tempDir('client-down');
    const client = startClient(`http://127.0.0.1:${await freePort()}`, dataDir);
    try {
      await client.waitForOutput(/posting prices failed/, 60_000);
      await client.waitForOutput(/round 3:/, 60_000);
      const { code, elapsedMs } = await terminate(client);
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
      const spool = readFileSync(path.join(dataDir, 'client/spool.jsonl'), 'utf8').trim().split('\n');
      expect(spool.length).toBeGreaterThanOrEqual(4);
    } finally {
      await client.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('stockwatch all', () => {
  it('stops its client, notifier and server on the embedded database and exits 0', async () => {
    const dataDir = tempDir('all');
    const port = await freePort();
    const all = spawnStockwatch(['all'], {
      DATA_DIR: dataDir,
      PORT: String(port),
      SIMULATOR_INTERVAL_MS: '200',
      SHUTDOWN_TIMEOUT: `${TIMEOUT_MS}ms`,
      METRICS_PORT: String(await freePort()),
    });
    try {
      await all.waitForOutput(/Stockwatch is up/, 120_000);
      expect(existsSync(path.join(dataDir, 'server.json'))).toBe(true);
      const ready = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(ready.status).toBe(200);
      const { code, elapsedMs } = await terminate(all);
      expect(code).toBe(0);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS);
      expect(all.output()).toMatch(/"msg":"stopped"/);
      // The operator file goes with the process: commands no longer look for a server that is gone.
      expect(existsSync(path.join(dataDir, 'server.json'))).toBe(false);
    } finally {
      await all.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
