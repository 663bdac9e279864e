import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import type { ConditionParams } from '../src/db/schema-notifications.ts';
import { type Bar, fires, type IndicatorKind, naiveMetric } from '../src/notifications/indicators.ts';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { createTestApp, type TestApp, useTwoServers } from './helpers/runtime.ts';

interface Rule {
  kind: IndicatorKind;
  threshold?: number;
  params: ConditionParams;
  cooldown: number;
  once: boolean;
}

const pct = fc.constantFrom(0.5, 1, 2, 3, 5);
const direction = fc.constantFrom('up' as const, 'down' as const, 'either' as const);
const rule: fc.Arbitrary<Rule> = fc
  .record({
    cooldown: fc.constantFrom(0, 1, 3, 60, 1440),
    once: fc.boolean(),
    spec: fc.oneof(
      fc.record({
        kind: fc.constant('change_pct_from_close' as const),
        threshold: pct,
        params: fc.record({ direction }),
      }),
      fc.record({
        kind: fc.constant('move_pct_within' as const),
        threshold: pct,
        params: fc.record({ direction, window_minutes: fc.constantFrom(1, 2, 5, 30, 240) }),
      }),
      fc.record({
        kind: fc.constantFrom('new_high_52w' as const, 'new_low_52w' as const),
        params: fc.constant({}),
      }),
      fc.record({
        kind: fc.constant('sma_cross' as const),
        params: fc
          .record({
            direction: fc.constantFrom('up' as const, 'down' as const),
            fast: fc.integer({ min: 1, max: 3 }),
          })
          .chain((p) => fc.integer({ min: p.fast + 1, max: 5 }).map((slow) => ({ ...p, slow }))),
      }),
      fc.record({
        kind: fc.constant('volume_spike' as const),
        threshold: fc.constantFrom(0.5, 1, 1.5, 2, 3),
        params: fc.record({ periods: fc.integer({ min: 1, max: 4 }) }),
      }),
    ),
  })
  .map(({ spec, ...rest }) => ({ ...rest, ...spec }));

// Minutes between prices: back (a late price), 0 (a duplicate), minutes, hours, days (New York days
// change, 52-week windows get a week of history).
// Prices walk (new 52-week extremes happen), in steps of at most ±3%.
const step = fc.record({
  move: fc.integer({ min: -30, max: 30 }),
  volume: fc.constantFrom(0, 50, 100, 200, 400),
  dt: fc.constantFrom(-3, 0, 1, 1, 2, 5, 45, 600, 1440, 1440, 1440, 4320, 4320),
  wick: fc.constantFrom(0, 0, 1, 2.5),
});

/** Cooldown on price time and `once`, over the verdicts of successive bars. */
function applyTrigger(rule: Rule, verdicts: Array<{ ts: number; holds: boolean }>) {
  const out: number[] = [];
  let next = -Infinity;
  for (const v of verdicts) {
    if (!v.holds || v.ts < next) continue;
    out.push(v.ts);
    next = rule.once ? Infinity : v.ts + rule.cooldown * 60_000;
  }
  return out;
}

const judge = (r: Rule, bars: Bar[], i: number) =>
  fires(r.threshold ?? 0, naiveMetric(r.kind, r.params, bars, i));

describe('indicator evaluation and backtest against a naive model (property test)', () => {
  const clock = manualClock('2025-06-02T14:00:00Z');
  let t: TestApp;
  let userId: string;
  let run = 0;

  beforeAll(async () => {
    t = await createTestApp('pglite', { clock, env: { NOTIFICATIONS_PER_USER: '100000' } });
    userId = (await insertUser(t.runtime, 'imodel@example.com')).id;
  });
  afterAll(() => t.close());

  it('live alerts equal the model on the prices stored at each moment; backtests equal it on all of them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rule, { minLength: 1, maxLength: 6 }),
        fc.array(step, { minLength: 5, maxLength: 50, size: 'max' }),
        async (rules, steps) => {
          const symbol = `IM${++run}`;
          const ids: string[] = [];
          for (const r of rules)
            ids.push(
              (
                await t.runtime.services.notifications.create({ id: userId }, {
                  symbol,
                  condition: r.kind,
                  ...(r.threshold !== undefined && { threshold: r.threshold }),
                  ...r.params,
                  cooldown_minutes: r.cooldown,
                  trigger: r.once ? 'once' : 'recurring',
                } as never)
              ).id,
            );

          // The model: the bars stored so far; a price is judged only when newer than all before it.
          const stored: Bar[] = [];
          const live = rules.map(() => [] as Array<{ ts: number; holds: boolean }>);
          let lastTs = -Infinity;
          let ts = Date.parse('2025-06-02T14:00:00Z') + run * 40 * 86_400_000;
          const first = ts;
          let price = 100;
          for (const s of steps) {
            ts += s.dt * 60_000;
            price = Math.round(price * (1000 + s.move)) / 1000;
            clock.set(new Date(ts));
            const bar: Bar = {
              ts,
              price,
              volume: s.volume,
              high: s.wick ? price + s.wick : null,
              low: s.wick ? price - s.wick : null,
            };
            await t.runtime.services.prices.ingest({
              symbol,
              timestamp: new Date(ts).toISOString(),
              price: bar.price,
              volume: bar.volume,
              ...(bar.high !== null && { high: bar.high, low: bar.low! }),
            });
            if (stored.some((b) => b.ts === ts)) continue; // the first value stored wins
            stored.push(bar);
            stored.sort((a, b) => a.ts - b.ts);
            if (ts <= lastTs) continue; // late: stored, never judged
            lastTs = ts;
            for (const [j, r] of rules.entries())
              live[j]!.push({ ts, holds: judge(r, stored, stored.length - 1) });
          }

          const fired = await queryRows<{ notification_id: string; price_at: Date }>(
            t.runtime.database.db,
            sql`SELECT notification_id, price_at FROM alerts WHERE symbol = ${symbol} ORDER BY price_at`,
          );
          for (const [j, r] of rules.entries()) {
            const actual = fired
              .filter((f) => f.notification_id === ids[j])
              .map((f) => new Date(f.price_at).getTime());
            expect({ rule: r, live: actual }).toEqual({ rule: r, live: applyTrigger(r, live[j]!) });

            // The backtest judges every stored bar against all the bars before it, late ones included.
            const all = stored.map((b, i) => ({ ts: b.ts, holds: judge(r, stored, i) }));
            const start = Math.min(first, stored[0]!.ts);
            const result = await t.runtime.services.notifications.backtest({ id: userId }, {
              symbol,
              condition: r.kind,
              ...(r.threshold !== undefined && { threshold: r.threshold }),
              ...r.params,
              cooldown_minutes: r.cooldown,
              trigger: r.once ? 'once' : 'recurring',
              start_time: new Date(start).toISOString(),
              end_time: new Date(stored.at(-1)!.ts + 1).toISOString(),
            } as never);
            expect({ rule: r, backtest: result.firings.map((f) => Date.parse(f.timestamp)) }).toEqual({
              rule: r,
              backtest: applyTrigger(r, all),
            });
            expect(result.evaluated_points).toBe(stored.length);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('exactly-once claims of indicator rules across two servers on one PostgreSQL', () => {
  const servers = useTwoServers();
  let a: TestApp;
  let b: TestApp;
  beforeAll(() => {
    ({ a, b } = servers);
  });

  it('turns 50 concurrent qualifying ingests into one alert per rule (60-minute cooldown)', async () => {
    const owner = await insertUser(a.runtime, 'irace@example.com');
    const symbol = 'IRACE';
    const base = Date.now() - 60_000;
    // History: a close on an earlier New York day, a low price 2 minutes ago (the move), a small volume.
    await a.runtime.services.prices.ingest([
      { symbol, timestamp: new Date(base - 10 * 86_400_000).toISOString(), price: 50, volume: 1 },
      { symbol, timestamp: new Date(base - 120_000).toISOString(), price: 50, volume: 1 },
    ]);
    const bodies = [
      { condition: 'change_pct_from_close', threshold: 10, direction: 'up' },
      { condition: 'move_pct_within', threshold: 10, window_minutes: 60, direction: 'either' },
      { condition: 'new_high_52w' },
      { condition: 'volume_spike', threshold: 2, periods: 1 },
    ];
    const ids = [];
    for (const body of bodies)
      ids.push(
        (await a.runtime.services.notifications.create({ id: owner.id }, { symbol, ...body } as never)).id,
      );
    // Every price qualifies for every rule whatever the order they commit in: each is higher than all
    // before it (a new high, +100% from 50) and has twice the volume of any earlier one.
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const app = i % 2 ? a : b;
        return app.app.inject({
          method: 'POST',
          url: '/stocks',
          headers: { authorization: `Bearer ${app.ingestToken}` },
          payload: {
            symbol,
            timestamp: new Date(base + i * 100).toISOString(),
            price: 101 + i,
            volume: 2 ** (i + 1),
          },
        });
      }),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(201));
    const alerts = await queryRows<{ notification_id: string; n: number }>(
      a.runtime.database.db,
      sql`SELECT notification_id, count(*)::int AS n FROM alerts WHERE symbol = ${symbol} GROUP BY 1`,
    );
    expect(Object.fromEntries(alerts.map((r) => [r.notification_id, r.n]))).toEqual(
      Object.fromEntries(ids.map((id) => [id, 1])),
    );
  });
});
