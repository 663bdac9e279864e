import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { manualClock } from '../src/shared/clock.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';

// `prices` is partitioned by UTC month (migration 0005_partition_prices); the retention job keeps this
// month's partition and the next two ready, and anything else lands in prices_default. Where a price
// lives must never change what the API stores or answers.
describe.each(BACKENDS)('monthly partitions of prices on %s', (backend) => {
  const clock = manualClock('2031-03-15T12:00:00Z');
  let t: TestApp;
  const job = () => t.runtime.makeRetentionJob('partitions-test');
  const partitionOf = async (symbol: string, timestamp: string) =>
    (
      await queryRows<{ t: string }>(
        t.runtime.database.db,
        sql`SELECT tableoid::regclass::text AS t FROM prices WHERE symbol = ${symbol} AND ts = ${timestamp}::timestamptz`,
      )
    )[0]?.t;
  const partitions = async () =>
    (
      await queryRows<{ name: string }>(
        t.runtime.database.db,
        sql`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'prices'::regclass ORDER BY 1`,
      )
    ).map((r) => r.name);
  const history = (symbol: string, start: string, end: string) =>
    t.runtime.services.prices.history(symbol, { start_time: start, end_time: end, max_points: 10_000 });

  beforeAll(async () => {
    t = await createTestApp(backend, { clock });
  });
  afterAll(() => t.close());

  it('is a table partitioned by range of ts, with a default partition', async () => {
    const [row] = await queryRows<{ strategy: string }>(
      t.runtime.database.db,
      sql`SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = 'prices'::regclass`,
    );
    expect(row?.strategy).toBe('r');
    expect(await partitions()).toContain('prices_default');
  });

  it('gets this month and the next two from the job, once however often it runs', async () => {
    expect(await job().ensurePartitions()).toEqual(['prices_2031_03', 'prices_2031_04', 'prices_2031_05']);
    expect(await job().ensurePartitions()).toEqual([]);
    expect(await partitions()).toEqual(
      expect.arrayContaining(['prices_2031_03', 'prices_2031_04', 'prices_2031_05', 'prices_default']),
    );
  });

  it('stores each price in its month, answers ranges across partitions, and still finds duplicates', async () => {
    const prices = [
      { symbol: 'PRT', timestamp: '2030-12-31T23:59:00Z', price: 10, volume: 1 },
      { symbol: 'PRT', timestamp: '2031-03-01T00:00:00Z', price: 11, volume: 2 },
      { symbol: 'PRT', timestamp: '2031-03-15T11:59:00Z', price: 12, volume: 3 },
    ];
    expect(await t.runtime.services.prices.ingest(prices)).toEqual({ inserted: 3, duplicates: 0 });
    expect(await partitionOf('PRT', '2030-12-31T23:59:00Z')).toBe('prices_default');
    expect(await partitionOf('PRT', '2031-03-01T00:00:00Z')).toBe('prices_2031_03');
    expect(await partitionOf('PRT', '2031-03-15T11:59:00Z')).toBe('prices_2031_03');

    expect(await t.runtime.services.prices.ingest(prices)).toEqual({ inserted: 0, duplicates: 3 });
    const answer = await history('PRT', '2030-12-01T00:00:00Z', '2031-03-16T00:00:00Z');
    expect(answer.data.map((p) => [p.timestamp, p.price])).toEqual([
      ['2030-12-31T23:59:00.000Z', 10],
      ['2031-03-01T00:00:00.000Z', 11],
      ['2031-03-15T11:59:00.000Z', 12],
    ]);
  });

  it('leaves a month whose prices already sit in the default partition there, still stored and answered', async () => {
    // August's price arrives before August's partition exists (written directly: it is in the future).
    await t.runtime.database.db.execute(
      sql`INSERT INTO prices (symbol, ts, price, volume) VALUES ('PRT', '2031-08-10T15:00:00Z', 13, 4)`,
    );
    expect(await partitionOf('PRT', '2031-08-10T15:00:00Z')).toBe('prices_default');
    clock.set('2031-07-20T09:00:00Z');
    expect(await job().ensurePartitions()).toEqual(['prices_2031_07', 'prices_2031_09']);
    expect(await partitions()).not.toContain('prices_2031_08');
    const answer = await history('PRT', '2031-08-01T00:00:00Z', '2031-09-01T00:00:00Z');
    expect(answer.data.map((p) => p.price)).toEqual([13]);
  });
});
