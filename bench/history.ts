/**
 * Bench 3: `GET /stocks/{symbol}` over one year of trading-hour minute bars of one symbol
 * (252 days × 390 minutes = 98,280 rows), downsampled automatically to ≤ 1,000 points, against the
 * bare SQL aggregate the API runs for it (`bucketQuery`, same interval) done directly with `pg`.
 * Target: API median ≤ 1.5 × the bare query's median. The year is spread over monthly partitions, as
 * a server running through it would have stored it.
 *
 *   npx tsx bench/history.ts [--runs=30]
 */
import { PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { bucketQuery } from '../src/prices/prices.repo.ts';
import { INTERVALS } from '../src/prices/prices.schemas.ts';
import { utcMonth } from '../src/prices/retention.repo.ts';
import {
  createDatabase,
  fmt,
  median,
  numberFlag,
  percentile,
  postgresVersion,
  printResults,
  runBench,
  serverEnv,
  startServer,
  timed,
  warmPool,
} from './lib.ts';

const RUNS = numberFlag('runs', 'BENCH_RUNS', 30);
const WARMUP = 5;
const TARGET = 1.5;
const SYMBOL = 'BENCH';
const START = new Date('2025-01-01T00:00:00Z');
const END = new Date('2026-01-01T00:00:00Z');

/** 252 weekdays of 2025, 390 minutes each from 14:30 UTC (9:30 New York in winter), a wavy price. */
const LOAD = `
  WITH days AS (
    SELECT d FROM generate_series(timestamptz '2025-01-02', timestamptz '2025-12-31', interval '1 day') d
    WHERE extract(isodow FROM d) < 6 ORDER BY d LIMIT 252),
  bars AS (
    SELECT d + interval '14 hours 30 minutes' + m * interval '1 minute' AS ts,
           row_number() OVER (ORDER BY d, m) AS i
    FROM days CROSS JOIN generate_series(0, 389) m)
  INSERT INTO prices (symbol, ts, price, open, high, low, volume)
  SELECT '${SYMBOL}', ts, p, p - 0.02, p + 0.05, p - 0.05, 1000 + (i * 7919) % 5000
  FROM (SELECT ts, i, round((150 + 20 * sin(i / 9000.0) + sin(i / 7.0))::numeric, 2)::float8 AS p FROM bars) b`;

async function load(pool: pg.Pool): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query(`SET TIME ZONE 'UTC'`);
    // As a server running through 2025 would have made them (the retention job): one partition a month.
    for (let month = 0; month < 12; month++) {
      const { name, start, end } = utcMonth(START, month);
      await client.query(
        `CREATE TABLE "${name}" PARTITION OF prices FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
      );
    }
    const inserted = await client.query(LOAD);
    await client.query(
      `INSERT INTO symbols (symbol, last_price, last_ts)
       SELECT symbol, price, ts FROM prices WHERE symbol = $1 ORDER BY ts DESC LIMIT 1`,
      [SYMBOL],
    );
    // As a long-lived table would be: statistics known, visibility map and hint bits set.
    await client.query('VACUUM ANALYZE prices');
    await client.query('VACUUM ANALYZE symbols');
    return inserted.rowCount ?? 0;
  } finally {
    client.release();
  }
}

runBench('Bench 3: GET /stocks/{symbol} over a year of minute bars', 10 * 60_000, async () => {
  const db = await createDatabase('history');
  console.log(
    `PostgreSQL ${await postgresVersion(db.url)} on 127.0.0.1; ${RUNS} runs after ${WARMUP} warm-up`,
  );
  const server = await startServer({ command: 'server', env: serverEnv(db.url) });
  const pool = await warmPool(db.url, 1);

  const { ms: loadMs, result: rows } = await timed(() => load(pool));
  console.log(`loaded ${fmt.int(rows)} minute bars of ${SYMBOL} in ${fmt.s(loadMs)}`);

  const path = `/stocks/${SYMBOL}?start_time=${START.toISOString()}&end_time=${END.toISOString()}`;
  const first = (await (await fetch(server.url + path)).json()) as { interval: string; data: unknown[] };
  const seconds = INTERVALS[first.interval as keyof typeof INTERVALS];
  if (!seconds || first.data.length > 1000)
    throw new Error(`expected a downsampled answer, got ${first.interval} with ${first.data.length} points`);
  console.log(`the API chose interval ${first.interval}: ${first.data.length} points`);

  // Exactly the statement and parameters the API sends for the buckets.
  const bare = new PgDialect().sqlToQuery(bucketQuery(SYMBOL, START, END, seconds));
  const sideQueries = {
    'symbol exists': {
      sql: 'SELECT 1 FROM symbols WHERE symbol = $1',
      params: [SYMBOL],
    },
    'count capped at 1,001': {
      sql: `SELECT count(*)::int AS n FROM (SELECT 1 FROM prices WHERE symbol = $1 AND ts >= $2 AND ts < $3
            LIMIT 1001) capped`,
      params: [SYMBOL, START.toISOString(), END.toISOString()],
    },
  };

  const apiOnce = () =>
    timed(async () => {
      const response = await fetch(server.url + path);
      const text = await response.text();
      if (response.status !== 200) throw new Error(`GET answered ${response.status}: ${text.slice(0, 300)}`);
    });
  const sqlOnce = (query: { sql: string; params: unknown[] }) =>
    timed(() => pool.query(query.sql, query.params as unknown[]));
  const healthOnce = () => timed(async () => (await fetch(`${server.url}/health`)).text());

  const times = { api: [] as number[], bare: [] as number[], exists: [] as number[], count: [] as number[] };
  const health: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // Interleaved, so that both sides see the same machine load.
    const a = await apiOnce();
    const b = await sqlOnce(bare);
    const e = await sqlOnce(sideQueries['symbol exists']);
    const c = await sqlOnce(sideQueries['count capped at 1,001']);
    const h = await healthOnce();
    if (i < WARMUP) continue;
    times.api.push(a.ms);
    times.bare.push(b.ms);
    times.exists.push(e.ms);
    times.count.push(c.ms);
    health.push(h.ms);
  }

  const api = median(times.api);
  const base = median(times.bare);
  const ratio = api / base;
  console.log(
    `API p90 ${fmt.ms(percentile(times.api, 90))}, bare p90 ${fmt.ms(percentile(times.bare, 90))}; ` +
      `the API also runs (medians, direct): symbol exists ${fmt.ms(median(times.exists))}, ` +
      `capped count ${fmt.ms(median(times.count))}; GET /health round trip ${fmt.ms(median(health))}`,
  );
  printResults([
    {
      metric: `GET /stocks/${SYMBOL} for 2025 (${fmt.int(rows)} rows → ${first.data.length} × ${first.interval}), median of ${RUNS}`,
      measured: `${fmt.ms(api)} (API)`,
      baseline: `${fmt.ms(base)} (bucketQuery via pg)`,
      ratio: `${fmt.ratio(ratio)}×`,
      target: `≤ ${TARGET}×`,
      met: ratio <= TARGET,
    },
  ]);
});
