import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../src/db/connect.ts';
import { createRetentionRepo } from '../src/prices/retention.repo.ts';
import { createRetentionJob, ROLLUP_JOB } from '../src/prices/retention.ts';
import { manualClock } from '../src/shared/clock.ts';
import { eventually } from './helpers/process.ts';
import { BACKENDS, createTestApp, createTestDatabase, type TestApp } from './helpers/runtime.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const NOW = '2025-06-02T14:25:00Z';
/** RETENTION_DAYS=90 from NOW, down to the whole hour. */
const CUTOFF = Date.parse('2025-03-04T14:00:00Z');
const SEED_START = CUTOFF - 26 * HOUR;
const SEED_END = CUTOFF + 2 * HOUR;

/**
 * Minute prices from SEED_START to SEED_END, with gaps, some with open/high/low and some without,
 * for two symbols. Returns how many lie before CUTOFF.
 */
async function seed(t: TestApp, symbols = ['RTA', 'RTB']) {
  let old = 0;
  for (const [s, symbol] of symbols.entries()) {
    const batch = [];
    for (let ts = SEED_START, i = 0; ts < SEED_END; ts += 60_000, i++) {
      if ((i + s) % 7 === 3) continue;
      const price = 100 + s * 50 + Math.sin(i / 9) * 5 + (i % 5) * 0.1;
      const withRange = i % 3 !== 0;
      batch.push({
        symbol,
        timestamp: new Date(ts).toISOString(),
        price: Math.round(price * 100) / 100,
        volume: 10 + (i % 13),
        ...(withRange && {
          open: Math.round((price - 0.2) * 100) / 100,
          high: Math.round((price + 0.5) * 100) / 100,
          low: Math.round((price - 0.7) * 100) / 100,
        }),
      });
      if (ts < CUTOFF) old++;
    }
    const result = await t.runtime.services.prices.ingest(batch);
    expect(result.duplicates).toBe(0);
  }
  return old;
}

const history = (t: TestApp, symbol: string, start: number, end: number, interval?: '1h') =>
  t.runtime.services.prices.history(symbol, {
    start_time: new Date(start).toISOString(),
    end_time: new Date(end).toISOString(),
    max_points: 10_000,
    ...(interval && { interval }),
  });

const countPrices = async (t: TestApp) =>
  (await queryRows<{ n: number }>(t.runtime.database.db, sql`SELECT count(*)::int AS n FROM prices`))[0]!.n;

const jobFor = (t: TestApp, clock: { now(): Date }, workerId: string, batchMs?: number) =>
  createRetentionJob({
    db: t.runtime.database.db,
    transaction: t.runtime.database.transaction,
    repo: createRetentionRepo(),
    clock,
    log: { info() {}, warn() {} },
    workerId,
    days: 90,
    ...(batchMs && { batchMs }),
  });

describe.each(BACKENDS)('data retention on %s', (backend) => {
  const clock = manualClock(NOW);
  let t: TestApp;
  let old: number;
  beforeAll(async () => {
    t = await createTestApp(backend, { clock });
    old = await seed(t);
  });
  afterAll(() => t.close());

  it('rolls minute prices older than RETENTION_DAYS into hourly bars that keep each hour’s OHLCV', async () => {
    const expected = {
      RTA: (await history(t, 'RTA', SEED_START, CUTOFF, '1h')).data,
      RTB: (await history(t, 'RTB', SEED_START, CUTOFF, '1h')).data,
    };
    const recent = (await history(t, 'RTA', CUTOFF, SEED_END)).data;
    expect(expected.RTA).toHaveLength(26);
    expect(recent.length).toBeGreaterThan(100);
    const before = await countPrices(t);

    const run = await t.runtime.makeRetentionJob('test').runOnce();
    expect(run).toEqual({ ran: true, prices: old, bars: 52, doneUntil: new Date(CUTOFF) });
    expect(await countPrices(t)).toBe(before - old + 52);

    for (const symbol of ['RTA', 'RTB'] as const) {
      const after = await history(t, symbol, SEED_START, CUTOFF);
      // The stored rows of the old range are now exactly the hourly buckets the API computed before.
      expect(after.interval).toBe('raw');
      expect(after.data).toEqual(expected[symbol]);
    }
    expect((await history(t, 'RTA', CUTOFF, SEED_END)).data).toEqual(recent);
    // Buckets of an hour or more read the same from the bars as from the minutes.
    expect((await history(t, 'RTA', SEED_START, CUTOFF, '1h')).data).toEqual(expected.RTA);
  });

  it('does nothing more on the next run, and rolls up each hour once it is past the horizon', async () => {
    const rows = await countPrices(t);
    const again = await t.runtime.makeRetentionJob('test').runOnce();
    expect(again).toEqual({ ran: true, prices: 0, bars: 0, doneUntil: new Date(CUTOFF) });
    expect(await countPrices(t)).toBe(rows);

    const expected = (await history(t, 'RTB', CUTOFF, CUTOFF + 2 * HOUR, '1h')).data;
    clock.advance(2 * HOUR);
    const later = await t.runtime.makeRetentionJob('test').runOnce();
    expect(later.doneUntil).toEqual(new Date(CUTOFF + 2 * HOUR));
    expect(later.bars).toBe(4);
    expect((await history(t, 'RTB', CUTOFF, CUTOFF + 2 * HOUR)).data).toEqual(expected);
    const [job] = await queryRows<{ done_until: Date; last_run_by: string }>(
      t.runtime.database.db,
      sql`SELECT done_until, last_run_by FROM scheduled_jobs WHERE name = ${ROLLUP_JOB}`,
    );
    expect(new Date(job!.done_until).getTime()).toBe(CUTOFF + 2 * HOUR);
    expect(job!.last_run_by).toBe('test');
  });

  it('runs on its schedule once started, and stops', async () => {
    // Two prices of a new symbol in the hour after the one done last; an hour later it is past the horizon.
    const hour = CUTOFF + 2 * HOUR;
    const at = (ms: number) => new Date(ms).toISOString();
    await t.runtime.services.prices.ingest([
      { symbol: 'RTC', timestamp: at(hour + 30 * 60_000), price: 5, volume: 1 },
      { symbol: 'RTC', timestamp: at(hour + 31 * 60_000), price: 6, volume: 2, high: 6.5 },
      { symbol: 'RTC', timestamp: at(clock.now().getTime() - 60_000), price: 7, volume: 3 },
    ]);
    clock.advance(HOUR);
    const job = t.runtime.makeRetentionJob('scheduled');
    job.start(100);
    try {
      await eventually(async () => (await history(t, 'RTC', hour, hour + HOUR)).data.length === 1, 60_000);
    } finally {
      await job.stop();
    }
    expect((await history(t, 'RTC', hour, hour + HOUR)).data).toEqual([
      { timestamp: at(hour), price: 6, open: 5, high: 6.5, low: 5, volume: 3 },
    ]);
    expect((await history(t, 'RTC', hour + HOUR, clock.now().getTime())).data).toHaveLength(1);
  });

  it('keeps every price with RETENTION_DAYS=0', async () => {
    const keep = await createTestApp(backend, { clock, env: { RETENTION_DAYS: '0' } });
    try {
      await keep.runtime.services.prices.ingest({
        symbol: 'KEEP',
        timestamp: new Date(CUTOFF - 10 * DAY).toISOString(),
        price: 1,
        volume: 1,
      });
      expect(await keep.runtime.makeRetentionJob('keep').runOnce()).toEqual({
        ran: false,
        prices: 0,
        bars: 0,
        doneUntil: null,
      });
      expect(await countPrices(keep)).toBe(1);
    } finally {
      await keep.close();
    }
  });
});

describe('data retention run by two servers at once (PostgreSQL)', () => {
  const clock = manualClock(NOW);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    a = await createTestApp('postgres', { clock, databaseUrl: database.url });
    b = await createTestApp('postgres', { clock, databaseUrl: database.url });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await database.drop();
  });

  it('rolls up each hour exactly once, whoever takes it', async () => {
    const old = await seed(a, ['RTX', 'RTY', 'RTZ']);
    const expected = Object.fromEntries(
      await Promise.all(
        ['RTX', 'RTY', 'RTZ'].map(async (s) => [s, (await history(a, s, SEED_START, CUTOFF, '1h')).data]),
      ),
    );
    // An hour per transaction. While server A works through them, server B keeps trying: each try
    // either skips (A holds the job) or takes the next hour itself. Either way no hour is done twice.
    const jobA = jobFor(a, clock, 'server-a', HOUR);
    const jobB = jobFor(b, clock, 'server-b', HOUR);
    let finished = false;
    const runA = jobA.runOnce().finally(() => {
      finished = true;
    });
    const runsB = [];
    while (!finished) runsB.push(await jobB.runOnce());
    const runs = [await runA, ...runsB];
    expect(runs.reduce((sum, r) => sum + r.prices, 0)).toBe(old);
    expect(runs.reduce((sum, r) => sum + r.bars, 0)).toBe(3 * 26);
    for (const symbol of ['RTX', 'RTY', 'RTZ']) {
      expect((await history(b, symbol, SEED_START, CUTOFF)).data, symbol).toEqual(expected[symbol]);
    }
    // Neither has anything left to do.
    const [third, fourth] = await Promise.all([
      jobFor(a, clock, 'server-a').runOnce(),
      jobFor(b, clock, 'server-b').runOnce(),
    ]);
    expect(third.prices + fourth.prices).toBe(0);
  });

  it('is scheduled for the deployment: the first turn comes an interval after the first start', async () => {
    await a.runtime.services.prices.ingest({
      symbol: 'RTS',
      timestamp: new Date(CUTOFF - DAY + 30 * 60_000).toISOString(),
      price: 1,
      volume: 1,
    });
    // A fresh schedule: as in a new deployment, the turn is due an interval after it was first read.
    await a.runtime.database.db.execute(sql`DELETE FROM scheduled_jobs`);
    const jobs = [a.runtime.makeRetentionJob('server-a'), b.runtime.makeRetentionJob('server-b')];
    for (const job of jobs) job.start(3000);
    try {
      const stamp = async () => {
        const rows = await queryRows<{ ts: Date }>(
          a.runtime.database.db,
          sql`SELECT ts FROM prices WHERE symbol = 'RTS'`,
        );
        return new Date(rows[0]!.ts).getTime();
      };
      await new Promise((r) => setTimeout(r, 1000));
      // Not at start: a server restarting every few minutes would otherwise run it each time.
      expect(await stamp()).toBe(CUTOFF - DAY + 30 * 60_000);
      await eventually(async () => (await stamp()) === CUTOFF - DAY, 60_000);
      const [row] = await queryRows<{ last_run_by: string }>(
        a.runtime.database.db,
        sql`SELECT last_run_by FROM scheduled_jobs`,
      );
      expect(['server-a', 'server-b']).toContain(row!.last_run_by);
    } finally {
      for (const job of jobs) await job.stop();
    }
  });
});
