import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { conditionHolds, LEVEL_KINDS, type LevelKind } from '../src/notifications/conditions.ts';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { createTestApp, type TestApp, useTwoServers } from './helpers/runtime.ts';

describe('exactly-once claims across two servers on one PostgreSQL', () => {
  const servers = useTwoServers();
  let a: TestApp;
  let b: TestApp;
  beforeAll(() => {
    ({ a, b } = servers);
  });

  it('turns 50 concurrent qualifying ingests through two app instances into one alert', async () => {
    const owner = await insertUser(a.runtime, 'race@example.com');
    const rule = await a.runtime.services.notifications.create({ id: owner.id }, {
      symbol: 'RACE',
      condition: 'price > 100',
      threshold: 100,
    } as never);
    const base = Date.now() - 60_000;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? a : b).app.inject({
          method: 'POST',
          url: '/stocks',
          headers: { authorization: `Bearer ${(i % 2 ? a : b).ingestToken}` },
          payload: {
            symbol: 'RACE',
            timestamp: new Date(base + i * 100).toISOString(),
            price: 101 + i,
            volume: 1,
          },
        }),
      ),
    );
    // Each instance has its own DATA_DIR, hence its own ingest token.
    expect(responses.map((r) => r.statusCode)).toEqual(Array(50).fill(201));
    const alerts = await queryRows<{ n: number }>(
      a.runtime.database.db,
      sql`SELECT count(*)::int AS n FROM alerts WHERE notification_id = ${rule.id}::uuid`,
    );
    expect(alerts[0]!.n).toBe(1);
    const deliveries = await queryRows<{ n: number }>(
      a.runtime.database.db,
      sql`SELECT count(*)::int AS n FROM deliveries d JOIN alerts al ON al.id = d.alert_id
          WHERE al.notification_id = ${rule.id}::uuid`,
    );
    expect(deliveries[0]!.n).toBe(1);
    expect((await a.runtime.services.notifications.get({ id: owner.id }, rule.id)).fire_count).toBe(1);
  });
});

describe('evaluation against a naive model (property test)', () => {
  const clock = manualClock('2025-06-02T14:00:00Z');
  let t: TestApp;
  let userId: string;
  let run = 0;

  beforeAll(async () => {
    t = await createTestApp('pglite', { clock, env: { NOTIFICATIONS_PER_USER: '100000' } });
    userId = (await insertUser(t.runtime, 'model@example.com')).id;
  });
  afterAll(() => t.close());

  const rule = fc.record({
    kind: fc.constantFrom(...LEVEL_KINDS),
    threshold: fc.integer({ min: 98, max: 102 }),
    cooldown: fc.constantFrom(0, 1, 3, 60),
    once: fc.boolean(),
  });
  // Each step moves time by 0-2 minutes (0 = the same timestamp again, a duplicate) or back (a late price).
  const step = fc.record({ price: fc.integer({ min: 96, max: 104 }), dt: fc.integer({ min: -2, max: 2 }) });

  it('fires exactly what the naive model fires, crossings included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rule, { minLength: 1, maxLength: 8 }),
        fc.array(step, { minLength: 1, maxLength: 40 }),
        async (rules, steps) => {
          const symbol = `PM${++run}`;
          const ids: string[] = [];
          for (const r of rules)
            ids.push(
              (
                await t.runtime.services.notifications.create({ id: userId }, {
                  symbol,
                  condition: r.kind,
                  threshold: r.threshold,
                  cooldown_minutes: r.cooldown,
                  trigger: r.once ? 'once' : 'recurring',
                } as never)
              ).id,
            );

          // The model: evaluate a price only when it is newer than every price before it.
          const expected: string[] = [];
          const state = rules.map(() => ({ nextEligible: -Infinity, done: false }));
          const seen = new Set<number>();
          let lastTs = -Infinity;
          let previous: number | null = null;
          let ts = Date.parse('2025-06-02T14:00:00Z') + run * 86_400_000;
          for (const [i, s] of steps.entries()) {
            ts += s.dt * 60_000;
            clock.set(new Date(ts));
            await t.runtime.services.prices.ingest({
              symbol,
              timestamp: new Date(ts).toISOString(),
              price: s.price,
              volume: 1,
            });
            if (seen.has(ts)) continue; // a duplicate (symbol, timestamp) is not stored again
            seen.add(ts);
            if (ts <= lastTs) continue; // late: stored, never evaluated
            for (const [j, r] of rules.entries()) {
              const st = state[j]!;
              if (st.done || st.nextEligible > ts) continue;
              if (!conditionHolds(r.kind as LevelKind, r.threshold, s.price, previous)) continue;
              expected.push(`${j}@${i}`);
              st.nextEligible = ts + r.cooldown * 60_000;
              st.done = r.once;
            }
            lastTs = ts;
            previous = s.price;
          }

          const fired = await queryRows<{ notification_id: string; price_at: Date }>(
            t.runtime.database.db,
            sql`SELECT notification_id, price_at FROM alerts WHERE symbol = ${symbol} ORDER BY price_at, notification_id`,
          );
          // Map each alert back to (rule, step) through its price timestamp.
          let ts2 = Date.parse('2025-06-02T14:00:00Z') + run * 86_400_000;
          const stepAt = new Map<number, number>();
          for (const [i, s] of steps.entries()) {
            ts2 += s.dt * 60_000;
            if (!stepAt.has(ts2)) stepAt.set(ts2, i);
          }
          const actual = fired.map(
            (f) => `${ids.indexOf(f.notification_id)}@${stepAt.get(new Date(f.price_at).getTime())}`,
          );
          expect(actual.sort()).toEqual(expected.sort());
        },
      ),
      { numRuns: 60 },
    );
  });
});
