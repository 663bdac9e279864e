import http from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { eventually, freePort, startPrivateRedis } from './helpers/process.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { signUp } from './helpers/users.ts';

/** The value of one sample of a Prometheus text exposition, matched by name and exact label set. */
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

const START = '2025-06-02T14:00:00Z';

describe.each(BACKENDS)('GET /metrics on %s', (backend) => {
  const clock = manualClock(START);
  let t: TestApp;
  let user: { id: string; email: string };
  let closedPort: number;

  beforeAll(async () => {
    closedPort = await freePort();
    t = await createTestApp(backend, {
      clock,
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', DELIVERY_RETRY_BACKOFF: '1s' },
    });
    user = await insertUser(t.runtime, `metrics-${backend}@example.com`);
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    return res.body;
  };
  const ingest = (body: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/stocks',
      headers: { authorization: `Bearer ${t.ingestToken}` },
      payload: body as object,
    });
  const rule = (symbol: string, extra: Record<string, unknown> = {}) =>
    t.runtime.services.notifications.create({ id: user.id }, {
      symbol,
      condition: 'price > 100',
      threshold: 100,
      ...extra,
    } as never);

  it('answers in the Prometheus text format, with the process metrics', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(res.body, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(res.body, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(res.body, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(res.body).toContain('# TYPE stockwatch_ingest_duration_seconds histogram');
    expect(res.body).toContain('# TYPE stockwatch_alerts_fired_total counter');
  });

  it('counts ingest calls and rows, their time to commit, evaluation time and alerts fired', async () => {
    await rule('MTA');
    const before = await scrape();
    const at = (s: number) => new Date(clock.now().getTime() - s * 1000).toISOString();
    const batch = [
      { symbol: 'MTA', timestamp: at(60), price: 99, volume: 1 },
      { symbol: 'MTA', timestamp: at(30), price: 101, volume: 1 },
    ];
    expect((await ingest(batch)).statusCode).toBe(201);
    expect((await ingest(batch)).json()).toMatchObject({ inserted: 0, duplicates: 2 });
    const future = new Date(clock.now().getTime() + 3600_000).toISOString();
    expect((await ingest({ symbol: 'MTA', timestamp: future, price: 1, volume: 1 })).statusCode).toBe(422);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta('stockwatch_ingest_requests_total', { outcome: 'ok' })).toBe(2);
    expect(delta('stockwatch_ingest_requests_total', { outcome: 'invalid' })).toBe(1);
    expect(delta('stockwatch_ingest_requests_total', { outcome: 'error' })).toBe(0);
    expect(delta('stockwatch_ingest_rows_total', { result: 'inserted' })).toBe(2);
    expect(delta('stockwatch_ingest_rows_total', { result: 'duplicate' })).toBe(2);
    expect(delta('stockwatch_ingest_duration_seconds_count')).toBe(2);
    expect(delta('stockwatch_ingest_duration_seconds_sum')).toBeGreaterThan(0);
    // Only the first batch moved the symbol forward; the duplicate one had nothing to evaluate.
    expect(delta('stockwatch_evaluation_duration_seconds_count')).toBe(1);
    expect(delta('stockwatch_alerts_fired_total')).toBe(1);
    expect(delta('stockwatch_http_requests_total', { method: 'POST', route: '/stocks', status: '201' })).toBe(
      2,
    );
    expect(delta('stockwatch_http_requests_total', { method: 'POST', route: '/stocks', status: '422' })).toBe(
      1,
    );
  });

  it('reports the pending deliveries and the age of the oldest, and what the notifier sent or gave up', async () => {
    const notifier = t.runtime.makeNotifier('metrics-test');
    // The email of the previous test goes out (to the built-in mailbox): nothing is pending then.
    const before = await scrape();
    expect(sample(before, 'stockwatch_deliveries_pending')).toBe(1);
    for (let handled = 1; handled > 0; ) handled = await notifier.runOnce();
    const flushed = await scrape();
    expect(sample(flushed, 'stockwatch_deliveries_pending')).toBe(0);
    expect(sample(flushed, 'stockwatch_deliveries_oldest_pending_age_seconds')).toBe(0);
    expect(
      (sample(flushed, 'stockwatch_deliveries_sent_total', { channel: 'email' }) ?? 0) -
        (sample(before, 'stockwatch_deliveries_sent_total', { channel: 'email' }) ?? 0),
    ).toBe(1);

    // A webhook nobody listens on: three failed attempts, then given up.
    await rule('MTW', { channels: [{ type: 'webhook', url: `http://127.0.0.1:${closedPort}/hook` }] });
    await t.runtime.services.prices.ingest({
      symbol: 'MTW',
      timestamp: clock.now().toISOString(),
      price: 150,
      volume: 1,
    });
    clock.advance(90_000);
    const waiting = await scrape();
    expect(sample(waiting, 'stockwatch_deliveries_pending')).toBe(1);
    expect(sample(waiting, 'stockwatch_deliveries_oldest_pending_age_seconds')).toBeCloseTo(90, 3);

    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await notifier.runOnce()).toBe(1);
      clock.advance(3600_000);
    }
    const done = await scrape();
    const delta = (name: string) =>
      (sample(done, name, { channel: 'webhook' }) ?? 0) -
      (sample(flushed, name, { channel: 'webhook' }) ?? 0);
    expect(delta('stockwatch_delivery_attempts_failed_total')).toBe(3);
    expect(delta('stockwatch_deliveries_failed_total')).toBe(1);
    expect(delta('stockwatch_deliveries_sent_total')).toBe(0);
    expect(sample(done, 'stockwatch_delivery_attempt_duration_seconds_count', { channel: 'webhook' })).toBe(
      3,
    );
    expect(sample(done, 'stockwatch_deliveries_pending')).toBe(0);
  });

  it('does not count a delivery held for quiet hours as a backlog', async () => {
    const sleeper = await insertUser(t.runtime, `quiet-${backend}@example.com`);
    await t.runtime.services.channels.saveSettings(sleeper, {
      group_window_seconds: 0,
      quiet_hours: { start: '00:00', end: '23:59', time_zone: 'UTC', mode: 'hold' },
    });
    await t.runtime.services.notifications.create(sleeper, {
      symbol: 'MTQ',
      condition: 'price > 100',
      threshold: 100,
    } as never);
    expect(
      (await ingest({ symbol: 'MTQ', timestamp: clock.now().toISOString(), price: 150, volume: 1 }))
        .statusCode,
    ).toBe(201);
    // The notifier finds it due, sees the quiet hours and holds it until they end.
    await t.runtime.makeNotifier('metrics-quiet').runOnce();
    clock.advance(90_000);
    const held = await scrape();
    expect(sample(held, 'stockwatch_deliveries_pending')).toBe(1);
    expect(sample(held, 'stockwatch_deliveries_oldest_pending_age_seconds')).toBe(0);
  });

  it("exports each client's last reported provider quota, and forgets clients silent for a day", async () => {
    const report = {
      client_id: `client-${backend}`,
      host: 'worker-1',
      provider: 'alphavantage',
      plan: '5 calls a minute, 25 a day',
      spooled: 7,
      quota: {
        calls_left_today: 20,
        calls_per_day: 25,
        calls_left_this_minute: 4,
        calls_per_minute: 5,
        day_resets_at: clock.now().toISOString(),
        blocked_until: null,
      },
      problem: null,
      symbols: [],
    };
    const posted = await t.app.inject({
      method: 'POST',
      url: '/client-status',
      headers: { authorization: `Bearer ${t.ingestToken}` },
      payload: report,
    });
    expect(posted.statusCode).toBe(204);
    const text = await scrape();
    const id = { client_id: report.client_id, provider: 'alphavantage' };
    expect(sample(text, 'stockwatch_provider_quota_remaining', { ...id, window: 'day' })).toBe(20);
    expect(sample(text, 'stockwatch_provider_quota_limit', { ...id, window: 'day' })).toBe(25);
    expect(sample(text, 'stockwatch_provider_calls', { ...id, window: 'day' })).toBe(5);
    expect(sample(text, 'stockwatch_provider_quota_remaining', { ...id, window: 'minute' })).toBe(4);
    expect(sample(text, 'stockwatch_provider_calls', { ...id, window: 'minute' })).toBe(1);
    expect(sample(text, 'stockwatch_client_spooled_bars', id)).toBe(7);
    expect(sample(text, 'stockwatch_client_last_report_timestamp_seconds', { ...id, host: 'worker-1' })).toBe(
      clock.now().getTime() / 1000,
    );

    clock.advance(25 * 3600_000);
    const later = await scrape();
    expect(later).not.toContain(`client_id="${report.client_id}"`);
  });

  it('counts the open live streams of this process', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as { port: number };
    const caller = await signUp(t.app);
    const gauge = async () => sample(await scrape(), 'stockwatch_sse_clients');
    expect(await gauge()).toBe(0);
    const request = http.get(`http://127.0.0.1:${port}/events`, { headers: caller.headers });
    await new Promise<void>((resolve, reject) => {
      request.once('response', (res) => {
        expect(res.statusCode).toBe(200);
        resolve();
      });
      request.once('error', reject);
    });
    await eventually(async () => (await gauge()) === 1);
    request.destroy();
    await eventually(async () => (await gauge()) === 0);
  });
});

describe('GET /metrics with METRICS_TOKEN, and a tiny rate limit', () => {
  let t: TestApp;
  const token = 'metrics-token-0123456789';
  beforeAll(async () => {
    t = await createTestApp('pglite', { env: { METRICS_TOKEN: token, RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(() => t.close());

  it('wants the token as a bearer token', async () => {
    const anonymous = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer not-the-metrics-token' },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toContain('stockwatch_alerts_fired_total 0');
  });

  it('is documented in /openapi.json', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/metrics'].get.tags).toEqual(['operations']);
    expect(Object.keys(doc.paths['/metrics'].get.responses)).toEqual(['200', '401']);
  });

  it('is outside the rate limit: a scraper never sees a 429', async () => {
    let status = 0;
    for (let i = 0; i < 5 && status !== 429; i++)
      status = (await t.app.inject({ method: 'GET', url: '/stocks' })).statusCode;
    expect(status).toBe(429);
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
    }
  });
});

describe('/ready with Redis', () => {
  let t: TestApp;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    t = await createTestApp('pglite', { env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop().catch(() => {});
  });
  const ready = () => t.app.inject({ method: 'GET', url: '/ready' });

  it('is 503 while Redis is unreachable, and ready again once it is back', async () => {
    await eventually(async () => (await ready()).statusCode === 200);
    expect((await ready()).json()).toEqual({ status: 'ready', checks: { database: true, redis: true } });

    await redis.stop();
    await eventually(async () => (await ready()).statusCode === 503);
    expect((await ready()).json()).toEqual({
      status: 'unavailable',
      checks: { database: true, redis: false },
    });
    // Liveness does not depend on Redis: restarting the process would not bring it back.
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    await redis.restart();
    await eventually(async () => (await ready()).statusCode === 200, 30_000);
  });

  it('has no redis check without REDIS_URL', async () => {
    const plain = await createTestApp('pglite');
    try {
      const res = await plain.app.inject({ method: 'GET', url: '/ready' });
      expect(res.json()).toEqual({ status: 'ready', checks: { database: true } });
    } finally {
      await plain.close();
    }
  });
});

describe('request log lines', () => {
  const lines: Array<Record<string, unknown>> = [];
  let t: TestApp;
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    t = await createTestApp('pglite', { logger: pino({ level: 'info' }, sink) });
  });
  afterAll(() => t.close());

  it('writes one JSON line per request with its id, method, URL, status and time', async () => {
    const given = await t.app.inject({
      method: 'GET',
      url: '/stocks/NOPE?start_time=x',
      headers: { 'x-request-id': 'trace-42' },
    });
    expect(given.headers['x-request-id']).toBe('trace-42');
    const generated = await t.app.inject({ method: 'GET', url: '/health' });
    const id = String(generated.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const of = (reqId: string) => lines.filter((l) => l.reqId === reqId);
    await eventually(() => of('trace-42').length > 0 && of(id).length > 0);
    expect(of('trace-42')).toHaveLength(1);
    expect(of('trace-42')[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'GET', url: '/stocks/NOPE?start_time=x' },
      res: { statusCode: given.statusCode },
      responseTime: expect.any(Number),
    });
    expect(of(id)).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        req: expect.objectContaining({ method: 'GET', url: '/health' }),
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
      }),
    ]);
  });
});
