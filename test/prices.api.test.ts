import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';

const NOW = '2025-04-12T10:02:00Z';

describe.each(BACKENDS)('prices API on %s', (backend) => {
  const clock = manualClock(NOW);
  let t: TestApp;
  let auth: Record<string, string>;

  beforeAll(async () => {
    // Prices are public here; who may read them is tested in auth.api.test.ts.
    t = await createTestApp(backend, { clock, env: { PUBLIC_PRICES: 'true' } });
    auth = { authorization: `Bearer ${t.ingestToken}` };
  });
  afterAll(() => t.close());
  beforeEach(() => clock.set(NOW));

  const post = (body: unknown, headers: Record<string, string> = auth) =>
    t.app.inject({ method: 'POST', url: '/stocks', headers, payload: body as object });
  const get = (url: string) => t.app.inject({ method: 'GET', url });

  describe('the seed contract', () => {
    it('stores the seed example and answers exactly {"status":"success"}', async () => {
      const res = await post({
        symbol: 'AAPL',
        timestamp: '2025-04-12T10:00:00Z',
        price: 150.25,
        volume: 1000,
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({ status: 'success' });

      const history = await get('/stocks/AAPL?start_time=2025-04-12T09:00:00Z&end_time=2025-04-12T11:00:00Z');
      expect(history.statusCode).toBe(200);
      expect(history.json()).toMatchObject({
        symbol: 'AAPL',
        data: [{ timestamp: '2025-04-12T10:00:00.000Z', price: 150.25, volume: 1000 }],
      });
    });

    it('defaults to the last 24 hours', async () => {
      await post([
        { symbol: 'DFLT', timestamp: '2025-04-11T09:00:00Z', price: 1, volume: 1 },
        { symbol: 'DFLT', timestamp: '2025-04-11T11:00:00Z', price: 2, volume: 1 },
      ]);
      const body = (await get('/stocks/DFLT')).json();
      expect(body.data.map((p: { price: number }) => p.price)).toEqual([2]);
      expect(body.end_time).toBe(new Date(NOW).toISOString());
    });
  });

  describe('batches and duplicates', () => {
    it('stores a batch and counts inserted and duplicate rows', async () => {
      const batch = Array.from({ length: 500 }, (_, i) => ({
        symbol: 'BATCH',
        timestamp: new Date(Date.parse('2025-04-12T01:00:00Z') + i * 60_000).toISOString(),
        price: 10 + i / 100,
        volume: i,
      }));
      const first = await post(batch);
      expect(first.statusCode).toBe(201);
      expect(first.json()).toEqual({ status: 'success', inserted: 500, duplicates: 0 });

      const again = await post([...batch.slice(0, 100), { ...batch[0], timestamp: '2025-04-12T09:59:00Z' }]);
      expect(again.json()).toEqual({ status: 'success', inserted: 1, duplicates: 100 });

      const stored = (await get('/stocks/BATCH?start_time=2025-04-12T00:00:00Z&max_points=10000')).json();
      expect(stored.data).toHaveLength(501);
    });

    it('keeps the first value when a (symbol, timestamp) is sent again with another price', async () => {
      const ts = '2025-04-12T09:30:00Z';
      await post({ symbol: 'FIRST', timestamp: ts, price: 100, volume: 5 });
      const res = await post({ symbol: 'FIRST', timestamp: ts, price: 999, volume: 7 });
      expect(res.statusCode).toBe(201);
      const data = (await get('/stocks/FIRST?start_time=2025-04-12T09:00:00Z')).json().data;
      expect(data).toEqual([{ timestamp: '2025-04-12T09:30:00.000Z', price: 100, volume: 5 }]);
    });

    it('counts a duplicate inside one batch once', async () => {
      const p = { symbol: 'INNER', timestamp: '2025-04-12T09:31:00Z', price: 1, volume: 1 };
      expect((await post([p, p, { ...p, price: 2 }])).json()).toEqual({
        status: 'success',
        inserted: 1,
        duplicates: 2,
      });
    });

    it('stores one row when 50 concurrent requests send the same price', async () => {
      const p = { symbol: 'RACE', timestamp: '2025-04-12T09:32:00Z', price: 3, volume: 1 };
      const results = await Promise.all(Array.from({ length: 50 }, () => post([p])));
      expect(results.every((r) => r.statusCode === 201)).toBe(true);
      const inserted = results.reduce((sum, r) => sum + r.json().inserted, 0);
      expect(inserted).toBe(1);
      expect((await get('/stocks/RACE?start_time=2025-04-12T09:00:00Z')).json().data).toHaveLength(1);
    });

    it('answers each of 50 concurrent requests with its own counts', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          post({
            symbol: 'CONC',
            timestamp: `2025-04-12T08:${String(i).padStart(2, '0')}:00Z`,
            price: 1 + i,
            volume: i,
          }),
        ),
      );
      expect(results.map((r) => r.statusCode)).toEqual(Array(50).fill(201));
      const stored = (await get('/stocks/CONC?start_time=2025-04-12T08:00:00Z')).json().data;
      expect(stored.map((p: { price: number }) => p.price)).toEqual(
        Array.from({ length: 50 }, (_, i) => 1 + i),
      );
    });
  });

  describe('validation', () => {
    const valid = { symbol: 'VAL', timestamp: '2025-04-12T10:00:00Z', price: 1.5, volume: 10 };
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['price as a string', { price: '150.25' }, '/price'],
      ['price zero', { price: 0 }, '/price'],
      ['negative price', { price: -1 }, '/price'],
      ['price null', { price: null }, '/price'],
      ['volume negative', { volume: -1 }, '/volume'],
      ['volume fractional', { volume: 1.5 }, '/volume'],
      ['volume as a string', { volume: '10' }, '/volume'],
      ['symbol as a number', { symbol: 12345 }, '/symbol'],
      ['symbol too long', { symbol: 'ABCDEFGHIJK' }, '/symbol'],
      ['symbol with a space', { symbol: 'AA PL' }, '/symbol'],
      ['empty symbol', { symbol: '' }, '/symbol'],
      ['timestamp without a zone', { timestamp: '2025-04-12T10:00:00' }, '/timestamp'],
      ['timestamp garbage', { timestamp: 'yesterday' }, '/timestamp'],
      ['timestamp as epoch number', { timestamp: 1744452000 }, '/timestamp'],
      ['timestamp 6 minutes ahead', { timestamp: '2025-04-12T10:08:01Z' }, '/timestamp'],
      ['an unknown field', { user_id: 'x' }, '/user_id'],
    ];

    it.each(cases)('rejects %s with 422 naming the field', async (_name, change, pointer) => {
      const res = await post({ ...valid, ...change });
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const problem = res.json();
      expect(problem).toMatchObject({ status: 422, title: expect.any(String), detail: expect.any(String) });
      expect(problem.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
      expect(problem).not.toHaveProperty('stack');
    });

    it('rejects a missing field', async () => {
      const { price: _omitted, ...rest } = valid;
      const res = await post(rest);
      expect(res.statusCode).toBe(422);
      expect(res.json().errors).toEqual([{ pointer: '/price', detail: expect.any(String) }]);
    });

    it('accepts a timestamp 4 minutes ahead and normalises a lower-case symbol', async () => {
      expect((await post({ ...valid, symbol: 'brk.b', timestamp: '2025-04-12T10:06:00Z' })).statusCode).toBe(
        201,
      );
      const data = (
        await get('/stocks/BRK.B?start_time=2025-04-12T10:00:00Z&end_time=2025-04-12T10:07:00Z')
      ).json();
      expect(data.symbol).toBe('BRK.B');
      expect(data.data).toHaveLength(1);
      expect(
        (await get('/stocks/brk.b?start_time=2025-04-12T10:00:00Z&end_time=2025-04-12T10:07:00Z')).json()
          .data,
      ).toHaveLength(1);
    });

    it('rejects a whole batch, naming the index and field of each problem, and stores nothing', async () => {
      const batch = [
        { ...valid, symbol: 'WHOLE', timestamp: '2025-04-12T09:00:00Z' },
        { ...valid, symbol: 'WHOLE', price: 'x' },
        { ...valid, symbol: 'WHOLE', timestamp: '2025-04-12T09:02:00Z' },
        { ...valid, symbol: 'WHOLE', timestamp: 'not a time', volume: -3 },
      ];
      const res = await post(batch);
      expect(res.statusCode).toBe(422);
      expect(
        res
          .json()
          .errors.map((e: { pointer: string }) => e.pointer)
          .sort(),
      ).toEqual(['/1/price', '/3/timestamp', '/3/volume']);
      expect((await get('/stocks/WHOLE')).statusCode).toBe(404);
    });

    it('rejects a batch with a future timestamp whole', async () => {
      const res = await post([
        { ...valid, symbol: 'FUT', timestamp: '2025-04-12T09:00:00Z' },
        { ...valid, symbol: 'FUT', timestamp: '2025-04-12T11:00:00Z' },
      ]);
      expect(res.statusCode).toBe(422);
      expect(res.json().errors).toEqual([
        { pointer: '/1/timestamp', detail: expect.stringContaining('future') },
      ]);
      expect((await get('/stocks/FUT')).statusCode).toBe(404);
    });

    it('rejects an empty batch and one over 10,000 prices', async () => {
      expect((await post([])).statusCode).toBe(422);
      const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ s: 'A', t: i }));
      const res = await post(tooMany);
      expect([413, 422]).toContain(res.statusCode);
    });

    it('rejects an infinite price (1e400 in JSON) and a body that is not an object', async () => {
      const inf = await t.app.inject({
        method: 'POST',
        url: '/stocks',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"symbol":"INF","timestamp":"2025-04-12T10:00:00Z","price":1e400,"volume":1}',
      });
      expect(inf.statusCode).toBe(422);
      expect(inf.json().errors[0].pointer).toBe('/price');
      for (const body of ['"AAPL"', '42', 'null', 'true']) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/stocks',
          headers: { ...auth, 'content-type': 'application/json' },
          payload: body,
        });
        expect(res.statusCode, body).toBe(422);
      }
    });

    it('answers malformed JSON and NaN with 400, text/plain with 415, 2 MB with 413', async () => {
      const raw = (payload: string, type = 'application/json') =>
        t.app.inject({ method: 'POST', url: '/stocks', headers: { ...auth, 'content-type': type }, payload });
      const nan = await raw('{"symbol":"NAN","timestamp":"2025-04-12T10:00:00Z","price":NaN,"volume":1}');
      expect(nan.statusCode).toBe(400);
      expect(nan.json().status).toBe(400);
      expect((await raw('{"symbol":')).statusCode).toBe(400);
      const text = await raw(JSON.stringify(valid), 'text/plain');
      expect(text.statusCode).toBe(415);
      expect(text.json().status).toBe(415);
      const huge = await raw(JSON.stringify([{ ...valid, pad: 'x'.repeat(2_000_000) }]));
      expect(huge.statusCode).toBe(413);
      expect(huge.json().status).toBe(413);
      expect((await get('/stocks/NAN')).statusCode).toBe(404);
    });
  });

  describe('ingest token', () => {
    const price = { symbol: 'SECRET', timestamp: '2025-04-12T10:00:00Z', price: 1, volume: 1 };
    it.each([
      ['no Authorization header', {}],
      ['a wrong token', { authorization: 'Bearer wrong-token-wrong-token' }],
      ['a Basic header', { authorization: 'Basic dXNlcjpwYXNz' }],
    ])('answers 401 for %s and stores nothing', async (_name, headers) => {
      const res = await post(price, headers as Record<string, string>);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ status: 401, title: 'Unauthorized' });
      expect((await get('/stocks/SECRET')).statusCode).toBe(404);
    });

    it('answers 401 before reading a 2 MB body', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/stocks',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ pad: 'x'.repeat(2_000_000) }),
      });
      expect(res.statusCode).toBe(401);
    });
  });

  describe('history', () => {
    beforeAll(async () => {
      const res = await post(
        ['09:00', '09:01', '09:02', '09:03'].map((hm, i) => ({
          symbol: 'RANGE',
          timestamp: `2025-04-12T${hm}:00Z`,
          price: 100 + i,
          volume: 10 * (i + 1),
        })),
      );
      expect(res.statusCode).toBe(201);
    });

    it('includes start_time and excludes end_time', async () => {
      const body = (
        await get('/stocks/RANGE?start_time=2025-04-12T09:01:00Z&end_time=2025-04-12T09:03:00Z')
      ).json();
      expect(body.data.map((p: { timestamp: string }) => p.timestamp)).toEqual([
        '2025-04-12T09:01:00.000Z',
        '2025-04-12T09:02:00.000Z',
      ]);
      expect(body.interval).toBe('raw');
    });

    it('reads offsets other than Z as the same instant, and stores them so', async () => {
      await post({ symbol: 'TZ', timestamp: '2025-04-12T11:30:00+02:00', price: 7, volume: 1 });
      await post({ symbol: 'TZ', timestamp: '2025-04-12T05:31:00-04:00', price: 8, volume: 1 });
      const body = (
        await get('/stocks/TZ?start_time=2025-04-12T11:00:00%2B02:00&end_time=2025-04-12T09:40:00Z')
      ).json();
      expect(body.data).toEqual([
        { timestamp: '2025-04-12T09:30:00.000Z', price: 7, volume: 1 },
        { timestamp: '2025-04-12T09:31:00.000Z', price: 8, volume: 1 },
      ]);
      expect(body.start_time).toBe('2025-04-12T09:00:00.000Z');
    });

    it('answers 404 for a symbol never seen and [] for a range without data', async () => {
      const missing = await get('/stocks/NEVER');
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ status: 404, detail: "Symbol 'NEVER' not found" });
      const empty = await get('/stocks/RANGE?start_time=2020-01-01T00:00:00Z&end_time=2020-01-02T00:00:00Z');
      expect(empty.statusCode).toBe(200);
      expect(empty.json().data).toEqual([]);
    });

    it('rejects bad query parameters with 422', async () => {
      for (const q of [
        'start_time=yesterday',
        'end_time=2025-04-12T09:00:00',
        'interval=2m',
        'max_points=0',
        'max_points=10001',
        'start_time=2025-04-12T10:00:00Z&end_time=2025-04-12T09:00:00Z',
        'colour=red',
      ]) {
        const res = await get(`/stocks/RANGE?${q}`);
        expect(res.statusCode, q).toBe(422);
        expect(res.json().status).toBe(422);
      }
      expect((await get('/stocks/TOO-LONG-SYMBOL')).statusCode).toBe(422);
    });
  });

  describe('downsampling', () => {
    // Three hours of minute bars with prices that are easy to get wrong: no monotone trend.
    const start = Date.parse('2025-04-10T13:00:00Z');
    const bars = Array.from({ length: 180 }, (_, i) => ({
      symbol: 'OHLC',
      timestamp: new Date(start + i * 60_000).toISOString(),
      price: Math.round((100 + 10 * Math.sin(i / 7) + (i % 5)) * 100) / 100,
      volume: 100 + ((i * 37) % 50),
    }));

    /** OHLCV computed here, independently of the SQL. */
    const expectedBuckets = (seconds: number) => {
      const buckets = new Map<number, typeof bars>();
      for (const b of bars) {
        const key = Math.floor(Date.parse(b.timestamp) / 1000 / seconds) * seconds * 1000;
        buckets.set(key, [...(buckets.get(key) ?? []), b]);
      }
      return [...buckets.entries()].map(([key, group]) => ({
        timestamp: new Date(key).toISOString(),
        open: group[0]!.price,
        high: Math.max(...group.map((g) => g.price)),
        low: Math.min(...group.map((g) => g.price)),
        price: group[group.length - 1]!.price,
        volume: group.reduce((s, g) => s + g.volume, 0),
      }));
    };

    beforeAll(async () => {
      expect((await post(bars)).statusCode).toBe(201);
    });

    it.each(['5m', '15m', '1h'] as const)(
      'returns %s OHLCV buckets equal to an independent computation',
      async (interval) => {
        const seconds = { '5m': 300, '15m': 900, '1h': 3600 }[interval];
        const res = await get(
          `/stocks/OHLC?start_time=2025-04-10T13:00:00Z&end_time=2025-04-10T16:00:00Z&interval=${interval}`,
        );
        const body = res.json();
        expect(body.interval).toBe(interval);
        expect(body.data).toEqual(expectedBuckets(seconds));
      },
    );

    it('downsamples by itself when the range holds more than max_points', async () => {
      const body = (
        await get('/stocks/OHLC?start_time=2025-04-10T13:00:00Z&end_time=2025-04-10T16:00:00Z&max_points=20')
      ).json();
      // 180 minutes into at most 20 points: 15-minute buckets are the smallest that fit.
      expect(body.interval).toBe('15m');
      expect(body.data).toEqual(expectedBuckets(900));
      const raw = (
        await get('/stocks/OHLC?start_time=2025-04-10T13:00:00Z&end_time=2025-04-10T16:00:00Z&max_points=180')
      ).json();
      expect(raw.interval).toBe('raw');
      expect(raw.data).toHaveLength(180);
    });

    it('refuses an interval that would exceed 10,000 points', async () => {
      const res = await get(
        '/stocks/OHLC?start_time=2000-01-01T00:00:00Z&end_time=2025-01-01T00:00:00Z&interval=1m',
      );
      expect(res.statusCode).toBe(422);
    });
  });

  describe('symbol list', () => {
    it('lists each symbol with its latest price and the change since the previous New York day', async () => {
      // 2025-04-10 (Thursday) closes at 50; on 2025-04-11 the price moves to 55.
      await post([
        { symbol: 'CHG', timestamp: '2025-04-10T19:59:00Z', price: 49, volume: 1 },
        { symbol: 'CHG', timestamp: '2025-04-10T20:00:00Z', price: 50, volume: 1 },
        // 01:00 UTC on the 11th is still the 10th in New York (21:00 EDT): part of the previous day.
        { symbol: 'CHG', timestamp: '2025-04-11T01:00:00Z', price: 51, volume: 1 },
        { symbol: 'CHG', timestamp: '2025-04-11T14:00:00Z', price: 53, volume: 1 },
        { symbol: 'CHG', timestamp: '2025-04-11T15:00:00Z', price: 55, volume: 1 },
      ]);
      await post({ symbol: 'NEWONE', timestamp: '2025-04-12T09:00:00Z', price: 5, volume: 1 });
      const list = (await get('/stocks')).json().data as Array<Record<string, unknown>>;
      expect(list.find((s) => s.symbol === 'CHG')).toEqual({
        symbol: 'CHG',
        price: 55,
        timestamp: '2025-04-11T15:00:00.000Z',
        previous_close: 51,
        change: 4,
        change_percent: 7.8431,
      });
      expect(list.find((s) => s.symbol === 'NEWONE')).toMatchObject({ previous_close: null, change: null });
      const symbols = list.map((s) => s.symbol);
      expect(symbols).toEqual([...symbols].sort());
    });

    it('never moves the latest price backwards when an older price arrives late', async () => {
      await post({ symbol: 'LATE', timestamp: '2025-04-12T09:00:00Z', price: 10, volume: 1 });
      await post({ symbol: 'LATE', timestamp: '2025-04-12T08:00:00Z', price: 20, volume: 1 });
      const late = (await get('/stocks')).json().data.find((s: { symbol: string }) => s.symbol === 'LATE');
      expect(late).toMatchObject({ price: 10, timestamp: '2025-04-12T09:00:00.000Z' });
    });
  });

  describe('operations', () => {
    it('answers /health and /ready', async () => {
      expect((await get('/health')).json()).toEqual({ status: 'ok' });
      const ready = await get('/ready');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'ready', checks: { database: true } });
    });

    it('publishes an OpenAPI 3.1 document with every route and a docs page', async () => {
      const doc = (await get('/openapi.json')).json();
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/stocks', '/stocks/{symbol}', '/health', '/ready']),
      );
      expect(doc.paths['/stocks'].post.requestBody).toBeDefined();
      expect(doc.paths['/stocks/{symbol}'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['symbol', 'start_time', 'end_time', 'interval', 'max_points']),
      );
      // Every schema a route refers to is defined in the document.
      const refs = new Set(JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z0-9_]+/g));
      expect(refs.size).toBeGreaterThan(0);
      for (const ref of refs) expect(doc.components.schemas[ref.split('/').pop()!], ref).toBeDefined();
      const docs = await get('/docs/');
      expect(docs.statusCode).toBe(200);
      expect(docs.body).toContain('swagger');
    });

    it('answers an unknown route with a problem document', async () => {
      const res = await get('/nope');
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ status: 404, title: 'Not found' });
    });
  });
});
