import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestDatabase, type TestApp } from './helpers/runtime.ts';
import { startTcpProxy } from './helpers/tcp-proxy.ts';

describe('a PostgreSQL outage', () => {
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    const real = new URL(database.url);
    proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    // Prices are public here: this suite is about the outage, not about who may read.
    t = await createTestApp('postgres', { databaseUrl: viaProxy.toString(), env: { PUBLIC_PRICES: 'true' } });
  });
  afterAll(async () => {
    await t.close();
    proxy.close();
    await database.drop();
  });

  const price = (minute: number) => ({
    symbol: 'OUT',
    timestamp: new Date(Date.now() - (60 - minute) * 60_000).toISOString(),
    price: 100 + minute,
    volume: 1,
  });
  const post = (body: unknown) =>
    t.app.inject({
      method: 'POST',
      url: '/stocks',
      headers: { authorization: `Bearer ${t.ingestToken}` },
      payload: body as object,
    });

  it('answers 503 while the database is away and recovers by itself when it returns', async () => {
    expect((await post(price(1))).statusCode).toBe(201);

    await proxy.cut();
    const during = await post(price(2));
    expect(during.statusCode).toBe(503);
    expect(during.json()).toMatchObject({ status: 503, title: 'Service unavailable' });
    expect(during.headers['retry-after']).toBeDefined();
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.database).toBe(false);
    // Liveness stays green: the process is fine, only its database is not.
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

    await proxy.restore();
    let after = await post(price(3));
    for (let i = 0; i < 20 && after.statusCode !== 201; i++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await post(price(3));
    }
    expect(after.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const stored = (await t.app.inject({ method: 'GET', url: '/stocks/OUT' })).json();
    expect(stored.data.map((p: { price: number }) => p.price)).toEqual([101, 103]);
  });
});
