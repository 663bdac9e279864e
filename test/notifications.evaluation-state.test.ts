import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { BACKENDS, createTestApp, type TestApp, useTwoServers } from './helpers/runtime.ts';

/**
 * The evaluator keeps each symbol's rule summary and recent bars in memory (src/notifications/
 * evaluator.ts, price-state.ts) and trusts them only at the versions the ingest statement returns. These
 * tests change what it keeps behind its back — through another server, a backfill, rule edits — and
 * check that it still fires exactly what the stored prices and rules say, and that it reads from the
 * database only when it has to.
 */

const MINUTE = 60_000;
const T0 = Date.parse('2025-06-02T14:00:00Z');
const at = (minute: number) => new Date(T0 + minute * MINUTE).toISOString();

async function readsOf(
  t: TestApp,
): Promise<{ rules: number; bars: number; newer: number; candidates: number }> {
  const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const count = (what: string) =>
    Number(new RegExp(`stockwatch_evaluation_reads_total\\{what="${what}"\\} (\\d+)`).exec(body)?.[1] ?? 0);
  return {
    rules: count('rules'),
    bars: count('bars'),
    newer: count('newer_bars'),
    candidates: count('candidates'),
  };
}

describe('evaluation state shared by two servers on one PostgreSQL', () => {
  const clock = manualClock(at(0));
  const servers = useTwoServers({ clock });
  let a: TestApp;
  let b: TestApp;
  let userId: string;
  let counter = 0;

  beforeAll(async () => {
    ({ a, b } = servers);
    userId = (await insertUser(a.runtime, 'state@example.com')).id;
  });

  const newSymbol = () => `ST${++counter}`;
  const create = async (t: TestApp, body: Record<string, unknown>) =>
    (await t.runtime.services.notifications.create({ id: userId }, { cooldown_minutes: 0, ...body } as never))
      .id;
  const post = async (t: TestApp, symbol: string, minute: number, price: number, volume = 100) => {
    clock.set(at(minute));
    await t.runtime.services.prices.ingest({ symbol, timestamp: at(minute), price, volume });
  };
  const fired = async (id: string) =>
    (
      await queryRows<{ price_at: Date }>(
        a.runtime.database.db,
        sql`SELECT price_at FROM alerts WHERE notification_id = ${id}::uuid ORDER BY price_at`,
      )
    ).map((r) => new Date(r.price_at).toISOString());

  it('keeps bars in memory while it is the only writer, and reads the newer ones when another wrote', async () => {
    const symbol = newSymbol();
    // 3× the mean volume of the 5 bars before.
    const rule = await create(a, { symbol, condition: 'volume_spike', threshold: 3, periods: 5 });
    const before = await readsOf(a);
    for (let m = 0; m < 8; m++) await post(a, symbol, m, 100, 100);
    const warm = await readsOf(a);
    // The first price read the summary and the bars; the seven after it moved the kept bars forward.
    expect({ rules: warm.rules - before.rules, bars: warm.bars - before.bars }).toEqual({
      rules: 1,
      bars: 1,
    });

    // Another server stores a bar with a large volume (10× the mean: b fires the rule itself). The mean
    // of the 5 bars before minute 9 is then (4 × 100 + 1,000) / 5 = 280, so 350 is 1.25×: no alert.
    // Bars kept without minute 8 would say 350 / 100 = 3.5× and fire.
    await post(b, symbol, 8, 100, 1_000);
    expect(await fired(rule)).toEqual([at(8)]);
    await post(a, symbol, 9, 100, 350);
    expect(await fired(rule)).toEqual([at(8)]);
    // Only the bar newer than those a kept was read (b stored nothing older than a's newest).
    const after = await readsOf(a);
    expect({ bars: after.bars - warm.bars, newer: after.newer - warm.newer }).toEqual({ bars: 0, newer: 1 });
    // Minute 10: mean of minutes 5–9 = (3 × 100 + 1,000 + 350) / 5 = 330; 1,000 / 330 ≈ 3.03× fires.
    await post(a, symbol, 10, 100, 1_000);
    expect(await fired(rule)).toEqual([at(8), at(10)]);
    const last = await readsOf(a);
    expect({ bars: last.bars, newer: last.newer }).toEqual({ bars: after.bars, newer: after.newer });
  });

  it('never catches up bars kept from a transaction that rolled back', async () => {
    const symbol = newSymbol();
    // 3× the mean volume of the 3 bars before; and a rule that makes minute 3's price fire.
    const spike = await create(a, { symbol, condition: 'volume_spike', threshold: 3, periods: 3 });
    await create(a, { symbol, condition: 'price > 600', threshold: 600 });
    const db = a.runtime.database.db;
    // Recording that alert fails, so the whole ingest transaction of minute 3 rolls back.
    await db.execute(sql`CREATE FUNCTION refuse_alert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused for the test'; END $$`);
    await db.execute(sql`CREATE TRIGGER refuse_alert BEFORE INSERT ON alerts FOR EACH ROW
      WHEN (NEW.symbol = ${sql.raw(`'${symbol}'`)} AND NEW.price = 666) EXECUTE FUNCTION refuse_alert()`);
    try {
      for (let m = 0; m < 3; m++) await post(a, symbol, 700 + m, 100, 100);
      // Kept in place with volume 10,000 before the failure: a mean of the bars before minute 5 that
      // held it would be (100 + 10,000 + 100) / 3 = 3,400 and 1,000 no spike.
      await expect(post(a, symbol, 703, 666, 10_000)).rejects.toThrow();
      await post(b, symbol, 704, 100, 100); // another server's write: a must catch up or read
      await post(a, symbol, 705, 100, 1_000); // mean of 701, 702, 704 = 100: 10× fires
      expect(await fired(spike)).toEqual([at(705)]);
    } finally {
      await db.execute(sql`DROP TRIGGER refuse_alert ON alerts`);
      await db.execute(sql`DROP FUNCTION refuse_alert()`);
    }
  });

  it('does not keep bars older than RETENTION_DAYS, which the hourly roll-up may rewrite', async () => {
    const symbol = newSymbol();
    await create(a, { symbol, condition: 'sma_cross', fast: 1, slow: 3, direction: 'up' }); // 4 bars
    const DAY = 24 * 60;
    const start = 1_000 * DAY; // far after the other tests' minutes
    const before = await readsOf(a);
    // Five prices 100 days apart (RETENTION_DAYS is 90): each state holds a bar the roll-up may rewrite.
    for (let k = 0; k < 5; k++) await post(a, symbol, start + k * 100 * DAY, 100);
    expect((await readsOf(a)).bars - before.bars).toBe(5);
    // Then minute bars: a state holds the 4 newest bars, which include an old one until the third; from
    // then on the kept state moves forward without reading.
    for (let m = 1; m <= 6; m++) await post(a, symbol, start + 400 * DAY + m, 100);
    expect((await readsOf(a)).bars - before.bars).toBe(5 + 3);
  });

  it('looks nothing up while the rules a price passes cool down, and fires each when eligible', async () => {
    const symbol = newSymbol();
    const first = await create(a, { symbol, condition: 'price > 100', threshold: 100, cooldown_minutes: 60 });
    const base = 3_000;
    const before = (await readsOf(a)).candidates;
    for (let m = 0; m <= 61; m++) {
      // A rule created on the other server while the first one cools down: fires at the next price.
      if (m === 30)
        await create(b, { symbol, condition: 'price > 101.2', threshold: 101.2, cooldown_minutes: 60 });
      await post(a, symbol, base + m, 101 + m / 100);
    }
    expect(await fired(first)).toEqual([at(base), at(base + 60)]);
    const [second] = (
      await queryRows<{ id: string }>(
        a.runtime.database.db,
        sql`SELECT id FROM notifications WHERE symbol = ${symbol} AND threshold = 101.2`,
      )
    ).map((r) => r.id);
    expect(await fired(second!)).toEqual([at(base + 30)]); // 101.30 > 101.2
    // Looked up at minutes 0, 30 and 60 only: the 59 other prices passed no bound of eligible rules.
    expect((await readsOf(a)).candidates - before).toBe(3);
  });

  it.each([
    ['this server', 500],
    ['the other server', 600],
  ])('sees a late bar stored through %s in the next window: its bars are read afresh', async (_, base) => {
    const writer = base === 500 ? a : b;
    const symbol = newSymbol();
    // Up 5 % from the lowest price of the 10 minutes before.
    const rule = await create(a, {
      symbol,
      condition: 'move_pct_within',
      threshold: 5,
      window_minutes: 10,
      direction: 'up',
    });
    await post(a, symbol, base, 100);
    await post(a, symbol, base + 2, 100);
    // A late bar one minute before a's newest, at 90: stored, not fresh (not the newest), not evaluated.
    await writer.runtime.services.prices.ingest({ symbol, timestamp: at(base + 1), price: 90, volume: 100 });
    const before = await readsOf(a);
    // Then 95: +5.56 % from 90 — fires; against the kept window (lowest 100) it would be −5 %, and
    // catching up the bars newer than the kept ones would miss the late one.
    await post(a, symbol, base + 3, 95);
    expect(await fired(rule)).toEqual([at(base + 3)]);
    const after = await readsOf(a);
    expect({ bars: after.bars - before.bars, newer: after.newer - before.newer }).toEqual({
      bars: 1,
      newer: 0,
    });
  });

  it('fires a rule created, or lowered, on another server at the next price', async () => {
    const symbol = newSymbol();
    await post(a, symbol, 200, 100);
    await post(a, symbol, 201, 101); // a's summary: no rules for the symbol
    const level = await create(b, { symbol, condition: 'price > 101', threshold: 101 });
    const change = await create(b, { symbol, condition: 'volume_spike', threshold: 50, periods: 2 });
    await post(a, symbol, 202, 102, 300);
    expect(await fired(level)).toEqual([at(202)]);
    expect(await fired(change)).toEqual([]); // 300 / 100 = 3× < 50×
    await b.runtime.services.notifications.update({ id: userId }, change, { threshold: 2 } as never);
    await post(a, symbol, 203, 102, 500); // 500 / mean(100, 300) = 2.5× ≥ 2×
    expect(await fired(change)).toEqual([at(203)]);
    expect(await fired(level)).toEqual([at(202), at(203)]);
    // Paused on b: a no longer fires it, though the price would.
    await b.runtime.services.notifications.update({ id: userId }, level, { paused: true } as never);
    await post(a, symbol, 204, 103);
    expect(await fired(level)).toEqual([at(202), at(203)]);
  });
});

describe.each(BACKENDS)('notification versions on %s', (backend) => {
  const clock = manualClock(at(0));
  let t: TestApp;
  let userId: string;
  beforeAll(async () => {
    t = await createTestApp(backend, { clock });
    userId = (await insertUser(t.runtime, 'versions@example.com')).id;
  });
  afterAll(() => t.close());

  const version = async (symbol: string) =>
    (
      await queryRows<{ version: string }>(
        t.runtime.database.db,
        sql`SELECT version::text AS version FROM notification_versions WHERE symbol = ${symbol}`,
      )
    )[0]?.version;

  it('changes when an armed rule appears, fires, changes what it fires on, or goes; not on other edits', async () => {
    const service = t.runtime.services.notifications;
    expect(await version('VER')).toBeUndefined();
    const rule = await service.create({ id: userId }, {
      symbol: 'VER',
      condition: 'price > 10',
      threshold: 10,
      cooldown_minutes: 0,
    } as never);
    const seen = [await version('VER')];
    expect(seen[0]).toBeDefined();
    const expectChanged = async () => {
      const v = await version('VER');
      expect(seen).not.toContain(v);
      seen.push(v);
    };

    await service.update({ id: userId }, rule.id, { threshold: 11 } as never);
    await expectChanged();
    // A firing changes it (the rule starts cooling down, which the summaries leave out)...
    clock.set(at(1));
    await t.runtime.services.prices.ingest({ symbol: 'VER', timestamp: at(1), price: 12, volume: 1 });
    expect((await service.get({ id: userId }, rule.id)).fire_count).toBe(1);
    await expectChanged();
    // ...a change of its cooldown or channels does not.
    await service.update({ id: userId }, rule.id, { cooldown_minutes: 5 } as never);
    expect(await version('VER')).toBe(seen.at(-1));

    await service.update({ id: userId }, rule.id, { paused: true } as never);
    await expectChanged();
    await service.update({ id: userId }, rule.id, { paused: false } as never);
    await expectChanged();
    await service.remove({ id: userId }, rule.id);
    await expectChanged();
    await service.create({ id: userId }, { symbol: 'VER', condition: 'price > 10', threshold: 10 } as never);
    await expectChanged();
    // A user deleted: their rules go by the foreign key's cascade, which fires the triggers too.
    const leaving = await insertUser(t.runtime, 'leaving@example.com');
    await service.create({ id: leaving.id }, {
      symbol: 'VER',
      condition: 'price > 5',
      threshold: 5,
    } as never);
    await expectChanged();
    await t.runtime.database.db.execute(sql`DELETE FROM "user" WHERE id = ${leaving.id}`);
    await expectChanged();
    await t.runtime.database.db.execute(sql`TRUNCATE notifications CASCADE`);
    await expectChanged();
  });
});
