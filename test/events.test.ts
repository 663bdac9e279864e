import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestDatabase, REDIS_URL, type TestApp } from './helpers/runtime.ts';
import { type Caller, signUp } from './helpers/users.ts';

/** Opens GET /events on a listening app and collects the events it receives. */
function openStream(baseUrl: string, caller: Caller, query = '') {
  const events: Array<{ event: string; data: Record<string, unknown> }> = [];
  let buffer = '';
  let request: http.ClientRequest;
  const connected = new Promise<http.IncomingMessage>((resolve, reject) => {
    request = http.get(`${baseUrl}/events${query}`, { headers: caller.headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
      });
      resolve(res);
    });
    request.on('error', reject);
  });
  return {
    connected,
    events,
    async waitFor(
      predicate: (e: { event: string; data: Record<string, unknown> }) => boolean,
      timeoutMs = 10_000,
    ) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching event; got ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => request.destroy(),
  };
}

async function listen(t: TestApp) {
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

const ingest = (t: TestApp, body: unknown) =>
  t.app.inject({
    method: 'POST',
    url: '/stocks',
    headers: { authorization: `Bearer ${t.ingestToken}` },
    payload: body as object,
  });

describe('live events (SSE)', () => {
  let t: TestApp;
  let url: string;

  beforeAll(async () => {
    t = await createTestApp('pglite');
    url = await listen(t);
  });
  afterAll(() => t.close());

  it('streams prices of the chosen symbols and only the caller’s own alerts', async () => {
    const alice = await signUp(t.app);
    const bob = await signUp(t.app);
    const aliceStream = openStream(url, alice, '?symbols=LIVE');
    const bobStream = openStream(url, bob);
    const res = await aliceStream.connected;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    await bobStream.connected;

    const created = await t.app.inject({
      method: 'POST',
      url: '/notifications',
      headers: alice.headers,
      payload: { symbol: 'LIVE', condition: 'price > 1', threshold: 1 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const now = new Date().toISOString();
    const stored = await ingest(t, [
      { symbol: 'OTHER', timestamp: now, price: 5, volume: 1 },
      { symbol: 'LIVE', timestamp: now, price: 2, volume: 1 },
    ]);
    expect(stored.statusCode, stored.body).toBe(201);

    expect((await aliceStream.waitFor((e) => e.event === 'price')).data).toEqual({
      symbol: 'LIVE',
      price: 2,
      timestamp: new Date(now).toISOString(),
    });
    const alert = await aliceStream.waitFor((e) => e.event === 'alert');
    expect(alert.data).toMatchObject({ symbol: 'LIVE', price: 2, threshold: 1, condition: 'above' });
    expect(alert.data).not.toHaveProperty('userId');
    await bobStream.waitFor((e) => e.event === 'price' && e.data.symbol === 'OTHER');
    expect(aliceStream.events.some((e) => e.data.symbol === 'OTHER')).toBe(false);
    expect(bobStream.events.some((e) => e.event === 'alert')).toBe(false);
    aliceStream.close();
    bobStream.close();
  });

  it('rejects an anonymous stream and a bad symbol list', async () => {
    const anonymous = await fetch(`${url}/events`);
    expect(anonymous.status).toBe(401);
    const alice = await signUp(t.app);
    const bad = await t.app.inject({
      method: 'GET',
      url: '/events?symbols=NOT%20OK',
      headers: alice.headers,
    });
    expect(bad.statusCode).toBe(422);
  });
});

describe('live events across two servers sharing Redis', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Servers of one deployment share their secrets, so a session opened on one is valid on the other.
    const env = { REDIS_URL, BETTER_AUTH_SECRET: 'a-shared-secret-of-at-least-32-characters!' };
    a = await createTestApp('postgres', { databaseUrl: database.url, env });
    b = await createTestApp('postgres', { databaseUrl: database.url, env });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await database.drop();
  });

  it('shows a dashboard connected to server B the prices and alerts committed through server A', async () => {
    const urlB = await listen(b);
    const carol = await signUp(a.app);
    const symbol = `RB${process.pid % 10000}`;
    const stream = openStream(urlB, carol, `?symbols=${symbol}`);
    expect((await stream.connected).statusCode).toBe(200);
    const created = await a.app.inject({
      method: 'POST',
      url: '/notifications',
      headers: carol.headers,
      payload: { symbol, condition: 'price > 1', threshold: 1 },
    });
    expect(created.statusCode, created.body).toBe(201);
    // Give B's Redis subscription a moment to be in place before publishing.
    await new Promise((r) => setTimeout(r, 300));
    await ingest(a, { symbol, timestamp: new Date().toISOString(), price: 3, volume: 1 });
    await stream.waitFor((e) => e.event === 'price' && e.data.symbol === symbol);
    await stream.waitFor((e) => e.event === 'alert' && e.data.symbol === symbol);
    stream.close();
  });
});
