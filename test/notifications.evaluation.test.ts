import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';

const START = '2025-06-02T14:00:00Z';

describe.each(BACKENDS)('notification evaluation on %s', (backend) => {
  const clock = manualClock(START);
  let t: TestApp;
  let userId: string;
  let symbolCounter = 0;

  beforeAll(async () => {
    t = await createTestApp(backend, { clock });
    userId = (await insertUser(t.runtime, 'eve@example.com')).id;
  });
  afterAll(() => t.close());
  beforeEach(() => clock.set(START));

  const services = () => t.runtime.services;
  /** A fresh symbol per test keeps the tests independent inside one database. */
  const newSymbol = () => `EV${++symbolCounter}`;
  /** A price stamped with the clock's current time, then the clock moves on by `stepMs`. */
  const tick = async (symbol: string, price: number, stepMs = 60_000) => {
    const timestamp = clock.now().toISOString();
    await services().prices.ingest({ symbol, timestamp, price, volume: 100 });
    clock.advance(stepMs);
  };
  const alertsOf = async (notificationId: string) =>
    queryRows<{ price: number; price_at: Date }>(
      t.runtime.database.db,
      sql`SELECT price, price_at FROM alerts WHERE notification_id = ${notificationId}::uuid ORDER BY price_at`,
    );
  const create = (body: Record<string, unknown>) =>
    services().notifications.create({ id: userId }, body as never);

  it('fires once when the seed condition holds, not again within the cooldown, again after it', async () => {
    const symbol = newSymbol();
    const n = await create({ symbol, condition: 'price > 150', threshold: 150 });
    await tick(symbol, 149);
    expect(await alertsOf(n.id)).toHaveLength(0);
    await tick(symbol, 151); // fires
    await tick(symbol, 152); // inside the 60-minute cooldown
    clock.advance(30 * 60_000);
    await tick(symbol, 153); // still inside
    expect((await alertsOf(n.id)).map((a) => a.price)).toEqual([151]);
    clock.advance(30 * 60_000);
    await tick(symbol, 154); // 62 minutes after the first: fires again
    expect((await alertsOf(n.id)).map((a) => a.price)).toEqual([151, 154]);
    const view = await services().notifications.get({ id: userId }, n.id);
    expect(view).toMatchObject({ status: 'active', fire_count: 2 });
    // Each alert carries one delivery per channel (email by default).
    const deliveries = await queryRows<{ n: number }>(
      t.runtime.database.db,
      sql`SELECT count(*)::int AS n FROM deliveries d JOIN alerts a ON a.id = d.alert_id
          WHERE a.notification_id = ${n.id}::uuid AND d.status = 'pending'`,
    );
    expect(deliveries[0]!.n).toBe(2);
  });

  it('treats each operator at its boundary', async () => {
    const symbol = newSymbol();
    const ids = {
      above: (await create({ symbol, condition: 'price > 100', threshold: 100, cooldown_minutes: 0 })).id,
      atOrAbove: (await create({ symbol, condition: 'price >= 100', threshold: 100, cooldown_minutes: 0 }))
        .id,
      below: (await create({ symbol, condition: 'below', threshold: 100, cooldown_minutes: 0 })).id,
      atOrBelow: (await create({ symbol, condition: 'at_or_below', threshold: 100, cooldown_minutes: 0 })).id,
    };
    await tick(symbol, 100);
    expect((await alertsOf(ids.above)).length).toBe(0);
    expect((await alertsOf(ids.atOrAbove)).length).toBe(1);
    expect((await alertsOf(ids.below)).length).toBe(0);
    expect((await alertsOf(ids.atOrBelow)).length).toBe(1);
  });

  it('fires crossings only when the price moves through the threshold between evaluations', async () => {
    const symbol = newSymbol();
    const up = await create({ symbol, condition: 'crosses_above', threshold: 50, cooldown_minutes: 0 });
    const down = await create({ symbol, condition: 'price crosses below 50', cooldown_minutes: 0 });
    await tick(symbol, 51); // first price: nothing to cross from
    await tick(symbol, 52);
    await tick(symbol, 49); // crosses below
    await tick(symbol, 48);
    await tick(symbol, 50); // crosses above (reaching the level counts)
    await tick(symbol, 55);
    expect((await alertsOf(up.id)).map((a) => a.price)).toEqual([50]);
    expect((await alertsOf(down.id)).map((a) => a.price)).toEqual([49]);
  });

  it('never fires on a late price or one older than ALERT_MAX_PRICE_AGE', async () => {
    const symbol = newSymbol();
    const n = await create({ symbol, condition: 'price > 10', threshold: 10, cooldown_minutes: 0 });
    await tick(symbol, 5);
    // Late: older than the newest price already evaluated.
    await services().prices.ingest({
      symbol,
      timestamp: new Date(clock.now().getTime() - 10 * 60_000).toISOString(),
      price: 20,
      volume: 1,
    });
    // Stale: 16 minutes old, although newer than anything stored.
    clock.advance(20 * 60_000);
    await services().prices.ingest({
      symbol,
      timestamp: new Date(clock.now().getTime() - 16 * 60_000).toISOString(),
      price: 21,
      volume: 1,
    });
    expect(await alertsOf(n.id)).toHaveLength(0);
    await tick(symbol, 22);
    expect((await alertsOf(n.id)).map((a) => a.price)).toEqual([22]);
  });

  it('disarms a once notification after it fires and arms it again when edited', async () => {
    const symbol = newSymbol();
    const n = await create({
      symbol,
      condition: 'above',
      threshold: 10,
      trigger: 'once',
      cooldown_minutes: 0,
    });
    await tick(symbol, 11);
    await tick(symbol, 12);
    expect(await alertsOf(n.id)).toHaveLength(1);
    expect((await services().notifications.get({ id: userId }, n.id)).status).toBe('done');
    await services().notifications.update({ id: userId }, n.id, { threshold: 12 });
    await tick(symbol, 13);
    expect((await alertsOf(n.id)).map((a) => a.price)).toEqual([11, 13]);
  });

  it('never fires a paused or expired notification', async () => {
    const symbol = newSymbol();
    const paused = await create({ symbol, condition: 'above', threshold: 1, cooldown_minutes: 0 });
    await services().notifications.update({ id: userId }, paused.id, { paused: true });
    const expired = await create({
      symbol,
      condition: 'above',
      threshold: 1,
      expires_at: new Date(clock.now().getTime() + 90_000).toISOString(),
    });
    await tick(symbol, 2, 120_000); // fires `expired` while it still lives
    await tick(symbol, 3);
    expect(await alertsOf(paused.id)).toHaveLength(0);
    expect((await alertsOf(expired.id)).map((a) => a.price)).toEqual([2]);
    expect((await services().notifications.get({ id: userId }, expired.id)).status).toBe('expired');
    expect((await services().notifications.get({ id: userId }, paused.id)).status).toBe('paused');
    await services().notifications.update({ id: userId }, paused.id, { paused: false });
    await tick(symbol, 4);
    expect((await alertsOf(paused.id)).map((a) => a.price)).toEqual([4]);
  });

  it('evaluates only the newest price of a batch', async () => {
    const symbol = newSymbol();
    const n = await create({ symbol, condition: 'above', threshold: 100, cooldown_minutes: 0 });
    const t0 = clock.now().getTime();
    await services().prices.ingest([
      { symbol, timestamp: new Date(t0 - 120_000).toISOString(), price: 150, volume: 1 },
      { symbol, timestamp: new Date(t0 - 60_000).toISOString(), price: 90, volume: 1 },
    ]);
    expect(await alertsOf(n.id)).toHaveLength(0);
  });

  it('evaluates every symbol of one batch in the same transaction', async () => {
    const symbols = [newSymbol(), newSymbol(), newSymbol()];
    const rules = [];
    for (const symbol of symbols)
      rules.push(await create({ symbol, condition: 'price >= 10', cooldown_minutes: 0 }));
    const timestamp = clock.now().toISOString();
    await services().prices.ingest([
      { symbol: symbols[0]!, timestamp, price: 10, volume: 1 },
      { symbol: symbols[1]!, timestamp, price: 9, volume: 1 },
      { symbol: symbols[2]!, timestamp, price: 11, volume: 1 },
    ]);
    expect((await alertsOf(rules[0]!.id)).map((a) => a.price)).toEqual([10]);
    expect(await alertsOf(rules[1]!.id)).toHaveLength(0);
    expect((await alertsOf(rules[2]!.id)).map((a) => a.price)).toEqual([11]);
  });
});
