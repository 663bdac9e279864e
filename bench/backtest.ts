/**
 * Backtest speed: `POST /notifications/backtest`'s work (one SQL fetch, one pass) for each condition kind
 * over the default range, 30 days of minute bars around the clock (43,200 bars), with the 11 months
 * before it as hourly roll-ups (what RETENTION_DAYS leaves; the 52-week kinds look back on them).
 * Baseline: the bare SQL that fetches the range's bars, with `pg`. Target: fast enough to follow
 * typing, which we take as a median under 250 ms for every kind.
 *
 *   npx tsx bench/backtest.ts [--runs=9]
 */
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createRuntime } from '../src/runtime.ts';
import {
  createDatabase,
  defer,
  fmt,
  median,
  numberFlag,
  postgresVersion,
  printResults,
  runBench,
  tempDir,
  timed,
  warmPool,
} from './lib.ts';

const RUNS = numberFlag('runs', 'BENCH_RUNS', 9);
const TARGET_MS = 250;
const SYMBOL = 'BT';
const END = new Date('2025-07-01T00:00:00Z');
const START = new Date(END.getTime() - 30 * 86_400_000);

const RULES: Array<[string, Record<string, unknown>]> = [
  ['price > t (level)', { condition: 'price > 151', cooldown_minutes: 60 }],
  ['crosses_above', { condition: 'crosses_above', threshold: 150, cooldown_minutes: 0 }],
  ['change_pct_from_close', { condition: 'change_pct_from_close', threshold: 1, cooldown_minutes: 60 }],
  [
    'move_pct_within (60 min)',
    { condition: 'move_pct_within', threshold: 0.5, window_minutes: 60, cooldown_minutes: 30 },
  ],
  ['new_high_52w', { condition: 'new_high_52w', cooldown_minutes: 0 }],
  ['new_low_52w', { condition: 'new_low_52w', cooldown_minutes: 0 }],
  ['sma_cross 50/200', { condition: 'sma_cross', fast: 50, slow: 200, direction: 'up', cooldown_minutes: 0 }],
  ['volume_spike (20 bars)', { condition: 'volume_spike', threshold: 2.5, periods: 20, cooldown_minutes: 0 }],
];

runBench('Backtest: 30 days of minute bars per condition kind', 10 * 60_000, async () => {
  const db = await createDatabase('backtest');
  console.log(`PostgreSQL ${await postgresVersion(db.url)}; median of ${RUNS} runs after one warm-up`);
  const config = loadConfig({ DATA_DIR: tempDir('backtest'), DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
  const runtime = await createRuntime(config, { logger: pino({ level: 'silent' }) });
  defer(() => runtime.close());
  await runtime.database.migrate();
  const pool = await warmPool(db.url, 1);

  // A wavy price with noise; hourly bars for the 11 months before the range, minute bars in it.
  const bar = (step: string, from: string, to: string) => `
    INSERT INTO prices (symbol, ts, price, open, high, low, volume)
    SELECT '${SYMBOL}', ts, p, p, p * 1.001, p * 0.999, 1000 + (i * 7919) % 5000 + CASE WHEN i % 997 = 0 THEN 20000 ELSE 0 END
    FROM (SELECT ts, i, round((150 + 15 * sin(i / 5000.0) + 2 * sin(i / 37.0) + random())::numeric, 2)::float8 AS p
          FROM generate_series(timestamptz '${from}', timestamptz '${to}' - interval '${step}', interval '${step}')
               WITH ORDINALITY AS g(ts, i)) b`;
  const loaded = await timed(async () => {
    await pool.query(
      bar('1 hour', new Date(START.getTime() - 334 * 86_400_000).toISOString(), START.toISOString()),
    );
    await pool.query(bar('1 minute', START.toISOString(), END.toISOString()));
    await pool.query(
      `INSERT INTO symbols (symbol, last_price, last_ts) SELECT symbol, price, ts FROM prices ORDER BY ts DESC LIMIT 1`,
    );
    await pool.query('VACUUM ANALYZE prices');
  });
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM prices');
  console.log(`loaded ${fmt.int(rows[0]!.n)} bars in ${fmt.s(loaded.ms)}`);
  const user = 'bench';
  await runtime.database.db.execute(
    sql`INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at)
        VALUES (${user}, 'bench', 'bench@example.com', true, now(), now())`,
  );

  const fetch = async () =>
    (
      await timed(() =>
        pool.query(
          'SELECT ts, price, volume, high, low FROM prices WHERE symbol = $1 AND ts >= $2 AND ts < $3 ORDER BY ts',
          [SYMBOL, START, END],
        ),
      )
    ).ms;
  await fetch();
  const fetches: number[] = [];
  for (let i = 0; i < RUNS; i++) fetches.push(await fetch());
  const baseline = median(fetches);

  const results = [];
  for (const [label, body] of RULES) {
    const input = { symbol: SYMBOL, ...body, start_time: START.toISOString(), end_time: END.toISOString() };
    const run = () => runtime.services.notifications.backtest({ id: user }, input as never);
    await run();
    const times: number[] = [];
    let last: Awaited<ReturnType<typeof run>> | undefined;
    for (let i = 0; i < RUNS; i++) {
      const { ms, result } = await timed(run);
      times.push(ms);
      last = result;
    }
    const ms = median(times);
    console.log(
      `${label.padEnd(26)} ${fmt.ms(ms).padStart(9)}  ${fmt.int(last!.evaluated_points)} bars judged, ${fmt.int(last!.count)} firings`,
    );
    results.push({ label, ms, count: last!.count, evaluated: last!.evaluated_points });
  }
  printResults(
    results.map((r) => ({
      metric: `backtest, 30 days of minute bars: ${r.label} (${fmt.int(r.evaluated)} bars, ${fmt.int(r.count)} firings)`,
      measured: fmt.ms(r.ms),
      baseline: `${fmt.ms(baseline)} (fetching the range's bars with pg)`,
      ratio: fmt.ratio(r.ms / baseline),
      target: `< ${TARGET_MS} ms`,
      met: r.ms < TARGET_MS,
    })),
  );
});
