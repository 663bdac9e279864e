import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { type Caller, signUp } from './helpers/users.ts';

/**
 * The indicator conditions on hand-made price series. Each expectation is worked out by hand in the
 * comments (not by the code under test); each series then goes through live evaluation (ingest, one
 * price at a time) and through the backtest, which must both give exactly those firings.
 */
describe.each(BACKENDS)('indicator conditions on %s', (backend) => {
  const clock = manualClock('2025-06-02T14:00:00Z');
  let t: TestApp;
  let userId: string;
  let counter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock });
    userId = (await insertUser(t.runtime, 'ind@example.com')).id;
  });
  afterAll(() => t.close());

  const newSymbol = () => `IN${++counter}`;
  const create = async (body: Record<string, unknown>) =>
    (await t.runtime.services.notifications.create({ id: userId }, { cooldown_minutes: 0, ...body } as never))
      .id;
  interface Point {
    at: string;
    price: number;
    volume?: number;
    high?: number;
    low?: number;
  }
  /** Ingests the points one by one, each when it happens (so each is fresh and evaluated). */
  const play = async (symbol: string, points: Point[]) => {
    for (const p of points) {
      clock.set(p.at);
      await t.runtime.services.prices.ingest({
        symbol,
        timestamp: new Date(p.at).toISOString(),
        price: p.price,
        volume: p.volume ?? 100,
        ...(p.high !== undefined && { high: p.high }),
        ...(p.low !== undefined && { low: p.low }),
      });
    }
  };
  const firedAt = async (id: string) =>
    (
      await queryRows<{ price_at: Date }>(
        t.runtime.database.db,
        sql`SELECT price_at FROM alerts WHERE notification_id = ${id}::uuid ORDER BY price_at`,
      )
    ).map((r) => new Date(r.price_at).toISOString());
  const backtest = async (body: Record<string, unknown>, start: string, end: string) =>
    (
      await t.runtime.services.notifications.backtest({ id: userId }, {
        cooldown_minutes: 0,
        ...body,
        start_time: start,
        end_time: end,
      } as never)
    ).firings.map((f) => f.timestamp);
  const iso = (at: string) => new Date(at).toISOString();

  /** Checks live alerts and the backtest of every rule against the hand-worked firings. */
  const expectFirings = async (
    symbol: string,
    rules: Array<{ body: Record<string, unknown>; expected: string[] }>,
    points: Point[],
    start = points[0]!.at,
  ) => {
    const ids = [];
    for (const r of rules) ids.push(await create({ symbol, ...r.body }));
    await play(symbol, points);
    const end = new Date(Date.parse(points.at(-1)!.at) + 1).toISOString();
    for (const [i, r] of rules.entries()) {
      const expected = r.expected.map(iso);
      expect({ rule: r.body, live: await firedAt(ids[i]!) }).toEqual({ rule: r.body, live: expected });
      expect({ rule: r.body, backtest: await backtest({ symbol, ...r.body }, start, end) }).toEqual({
        rule: r.body,
        backtest: expected,
      });
    }
  };

  it('change_pct_from_close: against the last price before the New York day began, by direction', async () => {
    // Monday 2 June 2025 (EDT, UTC−4) has no earlier day: nothing fires on it, however far it moves.
    // Tuesday's New York day begins at 04:00Z; the last price before it (104, 23:59 Monday in New York)
    // is Tuesday's previous close.
    const points: Point[] = [
      { at: '2025-06-02T14:00:00Z', price: 50 },
      { at: '2025-06-02T19:59:00Z', price: 100 },
      { at: '2025-06-03T03:59:00Z', price: 104 }, // the previous close of Tuesday
      { at: '2025-06-03T13:30:00Z', price: 106 }, // +1.92%
      { at: '2025-06-03T13:31:00Z', price: 107.64 }, // +3.5%
      { at: '2025-06-03T13:32:00Z', price: 100.36 }, // −3.5%
      { at: '2025-06-03T13:33:00Z', price: 104 }, // 0%
      { at: '2025-06-03T13:34:00Z', price: 99.84 }, // −4%
    ];
    const symbol = newSymbol();
    await expectFirings(
      symbol,
      [
        {
          body: { condition: 'change_pct_from_close', threshold: 3, direction: 'up' },
          expected: ['2025-06-03T13:31:00Z'],
        },
        {
          body: { condition: 'change_pct_from_close', threshold: 3, direction: 'down' },
          expected: ['2025-06-03T13:32:00Z', '2025-06-03T13:34:00Z'],
        },
        {
          body: { condition: 'change_pct_from_close', threshold: 3 }, // direction defaults to either
          expected: ['2025-06-03T13:31:00Z', '2025-06-03T13:32:00Z', '2025-06-03T13:34:00Z'],
        },
        // The cooldown runs on price time: 13:31 fires, 13:32 and 13:34 are within 10 minutes.
        {
          body: { condition: 'change_pct_from_close', threshold: 3, cooldown_minutes: 10 },
          expected: ['2025-06-03T13:31:00Z'],
        },
        {
          body: { condition: 'change_pct_from_close', threshold: 3.9, direction: 'down', trigger: 'once' },
          expected: ['2025-06-03T13:34:00Z'],
        },
      ],
      points,
    );
  });

  it('move_pct_within: from the lowest or highest price of the window before the price', async () => {
    const symbol = newSymbol();
    const points: Point[] = [
      { at: '2025-06-02T14:00:00Z', price: 100 },
      { at: '2025-06-02T14:01:00Z', price: 101 },
      { at: '2025-06-02T14:02:00Z', price: 102.5 }, // +2.5% from 100 (14:00, inside 10 minutes)
      { at: '2025-06-02T14:03:00Z', price: 101 }, // +1% from 100, −1.46% from 102.5
      { at: '2025-06-02T14:11:00Z', price: 102.2 }, // window [14:01, 14:11): low 101 → +1.19%
      { at: '2025-06-02T14:30:00Z', price: 103 }, // window empty: not judged
      { at: '2025-06-02T14:31:00Z', price: 103 }, // 0%
      { at: '2025-06-02T14:32:00Z', price: 99 }, // −3.88% from 103
    ];
    await expectFirings(
      symbol,
      [
        {
          body: { condition: 'move_pct_within', threshold: 2, window_minutes: 10, direction: 'up' },
          expected: ['2025-06-02T14:02:00Z'],
        },
        {
          body: { condition: 'move_pct_within', threshold: 2, window_minutes: 10, direction: 'down' },
          expected: ['2025-06-02T14:32:00Z'],
        },
        {
          body: { condition: 'move_pct_within', threshold: 2, window_minutes: 10, direction: 'either' },
          expected: ['2025-06-02T14:02:00Z', '2025-06-02T14:32:00Z'],
        },
        // A 15-minute window still holds 14:00's 100 at 14:11 (window [13:56, 14:11)): +2.2%.
        {
          body: { condition: 'move_pct_within', threshold: 2, window_minutes: 15, direction: 'up' },
          expected: ['2025-06-02T14:02:00Z', '2025-06-02T14:11:00Z'],
        },
      ],
      points,
    );
  });

  it('new_high_52w / new_low_52w: strictly beyond the highs and lows of the 52 weeks before, with a week of history', async () => {
    const symbol = newSymbol();
    const points: Point[] = [
      { at: '2024-04-01T15:00:00Z', price: 200, high: 210, low: 40 }, // more than 52 weeks before June 2025: ignored
      { at: '2025-05-20T15:00:00Z', price: 100, high: 105 },
      { at: '2025-05-21T15:00:00Z', price: 98, low: 95 },
      { at: '2025-06-02T14:00:00Z', price: 104 }, // within the range
      { at: '2025-06-02T14:01:00Z', price: 105 }, // equal to the high: not beyond it
      { at: '2025-06-02T14:02:00Z', price: 106 }, // new high (105)
      { at: '2025-06-02T14:03:00Z', price: 106 }, // equal to the previous price's 106: not a new high
      { at: '2025-06-02T14:04:00Z', price: 94.5 }, // new low (95)
      { at: '2025-06-02T14:05:00Z', price: 106.5 }, // new high (106)
    ];
    await expectFirings(
      symbol,
      [
        { body: { condition: 'new_high_52w' }, expected: ['2025-06-02T14:02:00Z', '2025-06-02T14:05:00Z'] },
        // 2024-04-01 is more than 52 weeks before each of these prices: its 210 high and 40 low do not count.
        { body: { condition: 'new_low_52w' }, expected: ['2025-06-02T14:04:00Z'] },
      ],
      points,
      // The backtest covers at most 366 days; 2024-04-01 would only be history it looks back on.
      '2025-05-20T15:00:00Z',
    );
  });

  it('new_high_52w needs a price from at least a week before the current New York day', async () => {
    const symbol = newSymbol();
    const id = await create({ symbol, condition: 'new_high_52w' });
    await play(symbol, [
      { at: '2025-05-27T15:00:00Z', price: 100 }, // Tuesday 27 May: six days before Monday 2 June
      { at: '2025-06-02T14:00:00Z', price: 110 }, // higher, but the window holds only six days
      { at: '2025-06-03T14:00:00Z', price: 111 }, // Tuesday 3 June: 27 May is now a week before
    ]);
    expect(await firedAt(id)).toEqual([iso('2025-06-03T14:00:00Z')]);
  });

  it('sma_cross: the bar where the fast average crosses the slow one', async () => {
    const symbol = newSymbol();
    const prices = [10, 10, 10, 9, 12, 13, 8];
    // fast 2 / slow 3, from the fourth bar on (it needs slow + 1 bars):
    // i3 (9):  fast 9.5  < slow 9.67; before: 10 = 10     → crosses down
    // i4 (12): fast 10.5 > slow 10.33; before: 9.5 < 9.67 → crosses up
    // i5 (13): fast 12.5 > slow 11.33; before: above      → nothing
    // i6 (8):  fast 10.5 < slow 11;    before: above      → crosses down
    const points = prices.map((price, i) => ({
      at: new Date(Date.parse('2025-06-02T14:00:00Z') + i * 60_000).toISOString(),
      price,
    }));
    await expectFirings(
      symbol,
      [
        { body: { condition: 'sma_cross', fast: 2, slow: 3, direction: 'up' }, expected: [points[4]!.at] },
        {
          body: { condition: 'sma_cross', fast: 2, slow: 3, direction: 'down' },
          expected: [points[3]!.at, points[6]!.at],
        },
        // fast 2 / slow 4 from i4: i4 10.5 > 10.25, before 9.5 < 9.75 → up; i6 10.5 = 10.5 is not below
        { body: { condition: 'sma_cross', fast: 2, slow: 4, direction: 'up' }, expected: [points[4]!.at] },
        { body: { condition: 'sma_cross', fast: 2, slow: 4, direction: 'down' }, expected: [] },
        // fast 1 / slow 4: i4 12 > mean(10,10,9,12)=10.25, before 9 < mean(10,10,10,9)=9.75 → up
        { body: { condition: 'sma_cross', fast: 1, slow: 4, direction: 'up' }, expected: [points[4]!.at] },
      ],
      points,
    );
  });

  it('volume_spike: volume at least k times the mean of the previous N bars', async () => {
    const symbol = newSymbol();
    const volumes = [100, 100, 100, 250, 100, 300, 50];
    // periods 3, from the fourth bar on:
    // i3 250 / mean(100,100,100)=100 = 2.5; i4 100 / 150 = 0.67; i5 300 / mean(100,250,100)=150 = 2; i6 50 / 216.7
    const points = volumes.map((volume, i) => ({
      at: new Date(Date.parse('2025-06-02T14:00:00Z') + i * 60_000).toISOString(),
      price: 10,
      volume,
    }));
    await expectFirings(
      symbol,
      [
        {
          body: { condition: 'volume_spike', threshold: 2, periods: 3 },
          expected: [points[3]!.at, points[5]!.at],
        },
        { body: { condition: 'volume_spike', threshold: 2.4, periods: 3 }, expected: [points[3]!.at] },
        { body: { condition: 'volume_spike', threshold: 2.6, periods: 3 }, expected: [] },
        // periods 6: only i6 is judged: 50 / mean(100,100,100,250,100,300) = 50 / 158.3 = 0.32
        { body: { condition: 'volume_spike', threshold: 0.25, periods: 6 }, expected: [points[6]!.at] },
      ],
      points,
    );
  });

  it('rearms a rule whose parameters change, and judges it by its new ones', async () => {
    const symbol = newSymbol();
    const id = await create({ symbol, condition: 'volume_spike', threshold: 2, periods: 3, trigger: 'once' });
    const at = (i: number) => new Date(Date.parse('2025-06-02T14:00:00Z') + i * 60_000).toISOString();
    await play(
      symbol,
      [100, 100, 100, 300].map((volume, i) => ({ at: at(i), price: 10, volume })),
    );
    expect(await firedAt(id)).toEqual([at(3)]);
    const view = await t.runtime.services.notifications.update({ id: userId }, id, { periods: 4 });
    expect(view).toMatchObject({ status: 'active', periods: 4, threshold: 2, condition: 'volume_spike' });
    // i4: 320 / mean(100, 100, 100, 300) = 2.13 with 4 periods (with the old 3: 320 / 166.7 = 1.92)
    await play(symbol, [{ at: at(4), price: 10, volume: 320 }]);
    expect(await firedAt(id)).toEqual([at(3), at(4)]);
  });
});

describe.each(BACKENDS)('indicator conditions and backtest API on %s', (backend) => {
  let t: TestApp;
  let eve: Caller;

  beforeAll(async () => {
    t = await createTestApp(backend);
    eve = await signUp(t.app, { name: 'Eve' });
    const now = Date.now();
    await t.runtime.services.prices.ingest(
      Array.from({ length: 10 }, (_, i) => ({
        symbol: 'APIX',
        timestamp: new Date(now - (10 - i) * 60_000).toISOString(),
        price: 100 + (i === 9 ? 10 : 0),
        volume: 100,
      })),
    );
  });
  afterAll(() => t.close());

  const post = (url: string, payload: object, caller: Caller | null = eve) =>
    t.app.inject({ method: 'POST', url, headers: caller?.headers ?? {}, payload });

  it('creates each indicator kind with its parameters and shows them back', async () => {
    const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [
        { condition: 'change_pct_from_close', threshold: 3, direction: 'up' },
        { direction: 'up', threshold: 3, condition_text: 'price 3% up from the previous close' },
      ],
      [{ condition: 'change_pct_from_close', threshold: 2 }, { direction: 'either' }],
      [
        { condition: 'move_pct_within', threshold: 1.5, window_minutes: 15, direction: 'down' },
        { window_minutes: 15, direction: 'down', condition_text: 'price moves 1.5% down within 15 min' },
      ],
      [{ condition: 'new_high_52w' }, { threshold: 0, condition_text: 'new 52-week high' }],
      [{ condition: 'new_low_52w' }, { threshold: 0 }],
      [
        { condition: 'sma_cross', fast: 50, slow: 200, direction: 'up' },
        { fast: 50, slow: 200, direction: 'up', condition_text: 'SMA 50 crosses above SMA 200' },
      ],
      [
        { condition: 'volume_spike', threshold: 3 },
        { periods: 20, threshold: 3 },
      ],
    ];
    for (const [body, shown] of cases) {
      const res = await post('/notifications', { symbol: 'APIX', ...body });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().notification).toMatchObject({ condition: body.condition, ...shown });
    }
  });

  it.each([
    [
      'move_pct_within without window_minutes',
      { condition: 'move_pct_within', threshold: 2 },
      '/window_minutes',
    ],
    [
      'a window longer than a day',
      { condition: 'move_pct_within', threshold: 2, window_minutes: 1441 },
      '/window_minutes',
    ],
    [
      'a parameter the kind does not use',
      { condition: 'volume_spike', threshold: 2, direction: 'up' },
      '/direction',
    ],
    ['a parameter of a level kind', { condition: 'above', threshold: 2, periods: 5 }, '/periods'],
    ['a threshold on sma_cross', { condition: 'sma_cross', fast: 5, slow: 20, threshold: 1 }, '/threshold'],
    ['sma_cross without slow', { condition: 'sma_cross', fast: 5 }, '/slow'],
    ['fast not fewer than slow', { condition: 'sma_cross', fast: 20, slow: 20 }, '/fast'],
    [
      'sma_cross in either direction',
      { condition: 'sma_cross', fast: 5, slow: 20, direction: 'either' },
      '/direction',
    ],
    ['a percent kind without threshold', { condition: 'change_pct_from_close' }, '/threshold'],
    ['periods as a string', { condition: 'volume_spike', threshold: 2, periods: '20' }, '/periods'],
  ])('refuses %s with a 422 naming the field', async (_name, body, pointer) => {
    for (const url of ['/notifications', '/notifications/backtest']) {
      const res = await post(url, { symbol: 'APIX', ...body });
      expect(res.statusCode, `${url} ${res.body}`).toBe(422);
      expect(res.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });

  it('backtests a rule without saving it: count, firings, points judged', async () => {
    const before = await t.app.inject({ method: 'GET', url: '/notifications', headers: eve.headers });
    const res = await post('/notifications/backtest', {
      symbol: 'apix',
      condition: 'move_pct_within',
      threshold: 5,
      window_minutes: 5,
      direction: 'up',
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    // The last of the ten prices is 110 against 100 in the five minutes before it: +10%.
    expect(body).toMatchObject({ symbol: 'APIX', count: 1, evaluated_points: 10, truncated: false });
    expect(body.firings).toEqual([
      { timestamp: expect.any(String), price: 110, detail: '+10.00% from the low 100 within 5 min' },
    ]);
    expect(typeof body.took_ms).toBe('number');
    const after = await t.app.inject({ method: 'GET', url: '/notifications', headers: eve.headers });
    expect(after.json().data.length).toBe(before.json().data.length);
  });

  it('backtests a level condition with its cooldown and a once trigger', async () => {
    const res = await post('/notifications/backtest', {
      symbol: 'APIX',
      condition: 'price >= 100',
      cooldown_minutes: 3,
    });
    // Prices at minutes 0..9 all >= 100: fires at 0, 3, 6, 9.
    expect(res.json().count).toBe(4);
    const once = await post('/notifications/backtest', {
      symbol: 'APIX',
      condition: 'price >= 100',
      trigger: 'once',
    });
    expect(once.json().count).toBe(1);
  });

  it('caps the range, needs a signed-in user, and answers 404 for an unknown symbol', async () => {
    const long = await post('/notifications/backtest', {
      symbol: 'APIX',
      condition: 'new_high_52w',
      start_time: '2024-01-01T00:00:00Z',
      end_time: '2025-06-01T00:00:00Z',
    });
    expect(long.statusCode).toBe(422);
    expect(long.json().errors[0].pointer).toBe('/start_time');
    const backwards = await post('/notifications/backtest', {
      symbol: 'APIX',
      condition: 'new_high_52w',
      start_time: '2025-06-01T00:00:00Z',
      end_time: '2025-05-01T00:00:00Z',
    });
    expect(backwards.statusCode).toBe(422);
    expect(
      (await post('/notifications/backtest', { symbol: 'APIX', condition: 'new_high_52w' }, null)).statusCode,
    ).toBe(401);
    expect(
      (await post('/notifications/backtest', { symbol: 'NOPE', condition: 'new_high_52w' })).statusCode,
    ).toBe(404);
    const unknownField = await post('/notifications/backtest', {
      symbol: 'APIX',
      condition: 'new_high_52w',
      channels: [{ type: 'email' }],
    });
    expect(unknownField.statusCode).toBe(422);
  });
});
