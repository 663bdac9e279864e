/**
 * Evaluation cost: single-price `POST /stocks` throughput (50 connections) with 0 active notifications,
 * then 100,000 of each kind group alone (the level kinds; each indicator kind), then 1,000,000 mixed
 * across every kind — all that never match, spread over 500 symbols, in one run on one database.
 * Every price is fresh (so every one is evaluated) and moves its symbol forward. Each symbol starts with
 * 300 bars of history over the 12 days before (a previous close, a 52-week window with a week of
 * history, enough bars for a 200-bar SMA), so the indicators do their real work.
 * Target: with 1,000,000 mixed rules at least 0.7 × the throughput with none.
 *
 *   npx tsx bench/evaluation.ts [--duration=10] [--rules=1000000] [--per-kind=100000] [--cold=3] [--servers=1]
 *   (BENCH_ONLY=level,sma_cross: only those kind groups alone before the mixed phase)
 */
import autocannon from 'autocannon';
import {
  createDatabase,
  fmt,
  INGEST_TOKEN,
  numberFlag,
  postgresVersion,
  printResults,
  runBench,
  serverEnv,
  startServer,
  timed,
  warmPool,
} from './lib.ts';

const DURATION_S = numberFlag('duration', 'BENCH_DURATION', 10);
// After rules are added, each server reads every symbol's rules (and, for indicator kinds, its recent
// bars) once: the first seconds of a phase are reported apart, as "cold", and not in the ratio.
const COLD_S = numberFlag('cold', 'BENCH_COLD', 3);
// --servers=2: that many servers on the one database, each sent half the connections, so that a symbol's
// consecutive prices land on either (each server then finds the other's writes and reads bars again).
const SERVERS = numberFlag('servers', 'BENCH_SERVERS', 1);
const MAX_RULES = numberFlag('rules', 'BENCH_RULES', 1_000_000);
const PER_KIND = numberFlag('per-kind', 'BENCH_RULES_PER_KIND', 100_000);
const CONNECTIONS = 50;
const SYMBOL_COUNT = 500;
const HISTORY_BARS = 300;
const TARGET = 0.7;
const symbols = Array.from({ length: SYMBOL_COUNT }, (_, i) => `S${String(i).padStart(3, '0')}`);

// Fresh prices: a few minutes old at most, strictly later per symbol, all at 105, so that no rule below
// ever matches: the fast SMA falls from the history's 200 towards 105 and never crosses above the slow
// one; the price is −47.5 % from the previous close (200), far inside the 52-week range (50–200), and
// never an intraday high or low after the day's first price — as most real prices are not (a price that
// is one costs the read of the year's bars for the 52-week kinds; see docs/PERFORMANCE.md).
const base = Date.now() - 5 * 60_000;
let n = 0;
function nextPrice() {
  const i = n++;
  return {
    symbol: symbols[i % SYMBOL_COUNT]!,
    timestamp: new Date(base + i).toISOString(),
    price: 105,
    volume: 100,
  };
}

/**
 * Non-matching rules per kind group, as SQL expressions of `g` (the row number): kind, threshold,
 * params and variant. Thresholds sit where the prices above cannot reach: levels far away, changes from
 * the previous close (200 → 105, −47.5 %) of 60–99 %, moves of 10–59 % (the price does not move), volume
 * at 5–54× the average (it is constant).
 */
const GROUPS: Record<string, { sql: string }> = {
  level: {
    sql: `(ARRAY['above','at_or_above','below','at_or_below','crosses_above','crosses_below'])[1 + g % 6],
          CASE WHEN g % 6 IN (0, 1, 4) THEN 1000 + (g % 5000) ELSE 1 + (g % 50) / 10.0 END,
          NULL::jsonb, NULL::text`,
  },
  change_pct_from_close: {
    sql: `'change_pct_from_close', 60 + g % 40,
          jsonb_build_object('direction', (ARRAY['up','down','either'])[1 + g % 3]),
          (ARRAY['up','down','either'])[1 + g % 3]`,
  },
  move_pct_within: {
    sql: `'move_pct_within', 10 + g % 50,
          jsonb_build_object('direction', (ARRAY['up','down','either'])[1 + g % 3],
                             'window_minutes', (ARRAY[5, 15, 60])[1 + (g / 3) % 3]),
          'w' || (ARRAY[5, 15, 60])[1 + (g / 3) % 3] || ':' || (ARRAY['up','down','either'])[1 + g % 3]`,
  },
  new_52w: {
    sql: `(ARRAY['new_high_52w','new_low_52w'])[1 + g % 2], 0, '{}'::jsonb, '52w'`,
  },
  sma_cross: {
    sql: `'sma_cross', 0,
          jsonb_build_object('direction', 'up', 'fast', (ARRAY[20, 50])[1 + g % 2], 'slow', (ARRAY[50, 200])[1 + g % 2]),
          (ARRAY['f20s50:up', 'f50s200:up'])[1 + g % 2]`,
  },
  volume_spike: {
    sql: `'volume_spike', 5 + g % 50, jsonb_build_object('periods', (ARRAY[20, 50])[1 + g % 2]),
          'n' || (ARRAY[20, 50])[1 + g % 2]`,
  },
};
/**
 * Rules that do hold, all the time: `above` thresholds under the price, with the default 60-minute
 * cooldown. Each fires once, at its symbol's first price of the phase, and then cools down: a level that
 * holds while its rule cools down should cost what a level that does not hold costs.
 */
const HOLDING = `'above', 50 + g % 50, NULL::jsonb, NULL::text`;

// BENCH_ONLY=sma_cross,level: the phases of these groups alone (the mixed phase still uses every group).
const ONLY = process.env.BENCH_ONLY?.split(',');
const GROUP_NAMES = Object.keys(GROUPS);

/** The servers' evaluation counters (GET /metrics), summed: what a phase cost inside the ingest transactions. */
async function evaluationCounters(urls: string[]) {
  const sum = { rules: 0, candidates: 0, bars: 0, newer: 0, seconds: 0, count: 0 };
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    sum.rules += value('stockwatch_evaluation_reads_total\\{what="rules"\\}');
    sum.candidates += value('stockwatch_evaluation_reads_total\\{what="candidates"\\}');
    sum.bars += value('stockwatch_evaluation_reads_total\\{what="bars"\\}');
    sum.newer += value('stockwatch_evaluation_reads_total\\{what="newer_bars"\\}');
    sum.seconds += value('stockwatch_evaluation_duration_seconds_sum');
    sum.count += value('stockwatch_evaluation_duration_seconds_count');
  }
  return sum;
}

/** Single-price posts from CONNECTIONS connections, split evenly over the servers. */
async function ingestRate(
  urls: string[],
  duration = DURATION_S,
): Promise<{ perSecond: number; p99: number; errors: number }> {
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({
        url,
        connections: Math.ceil(CONNECTIONS / urls.length),
        duration,
        requests: [
          {
            method: 'POST',
            path: '/stocks',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
            setupRequest: (request) => ({ ...request, body: JSON.stringify(nextPrice()) }),
          },
        ],
      }),
    ),
  );
  return {
    perSecond: results.reduce((n, r) => n + r['2xx'] / r.duration, 0),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0),
  };
}

runBench('Evaluation: ingest throughput as rules grow', 20 * 60_000, async () => {
  const db = await createDatabase('eval');
  console.log(
    `PostgreSQL ${await postgresVersion(db.url)}; ${DURATION_S} s per phase, ${SYMBOL_COUNT} symbols, ` +
      `${SERVERS} server(s)`,
  );
  const servers = [];
  for (let k = 0; k < SERVERS; k++)
    servers.push(await startServer({ command: 'server', env: serverEnv(db.url) }));
  const urls = servers.map((s) => s.url);
  const pool = await warmPool(db.url, 2);
  await pool.query(`INSERT INTO "user" (id, name, email) VALUES ('bench', 'bench', 'bench@example.com')`);

  // History: 300 bars per symbol over the 12 days before the run, at 200 (high 200, low 50), volume 100.
  await pool.query(
    `INSERT INTO prices (symbol, ts, price, open, high, low, volume)
     SELECT 'S' || lpad(s::text, 3, '0'), to_timestamp($1 / 1000.0) - interval '12 days' + j * interval '48 minutes',
            200, 200, 200, 50, 100
     FROM generate_series(0, ${SYMBOL_COUNT - 1}) s, generate_series(0, ${HISTORY_BARS - 1}) j`,
    [base],
  );

  /** `count` rules of the groups given, round-robin, on every symbol. */
  const addRules = async (count: number, groups: string[]) => {
    for (const [k, name] of groups.entries()) {
      const share = Math.floor(count / groups.length) + (k < count % groups.length ? 1 : 0);
      await pool.query(
        `INSERT INTO notifications (user_id, symbol, kind, threshold, params, variant, channels)
         SELECT 'bench', 'S' || lpad((g % ${SYMBOL_COUNT})::text, 3, '0'), ${GROUPS[name]?.sql ?? HOLDING},
                '[{"type":"email"}]'::jsonb
         FROM generate_series(1, $1) g`,
        [share],
      );
    }
    await pool.query('VACUUM ANALYZE notifications');
  };

  await ingestRate(urls); // warm-up: symbols exist, JIT and pools are hot
  const phases: Array<{
    label: string;
    rules: number;
    perSecond: number;
    p99: number;
    errors: number;
    cold: number;
  }> = [];
  const phase = async (label: string, rules: number, groups: string[], firing = 0) => {
    await pool.query('TRUNCATE notifications CASCADE');
    if (rules > 0) {
      const { ms } = await timed(() => addRules(rules, groups));
      console.log(`added ${fmt.int(rules)} rules (${label}) in ${fmt.s(ms)}`);
    }
    const describe = async (what: string, run: () => Promise<Awaited<ReturnType<typeof ingestRate>>>) => {
      const before = await evaluationCounters(urls);
      const result = await run();
      const after = await evaluationCounters(urls);
      const evaluations = after.count - before.count;
      console.log(
        `${fmt.int(rules).padStart(9)} rules, ${label}${what}: ${fmt.int(result.perSecond)} /s, p99 ${fmt.ms(result.p99)}, ` +
          `errors ${result.errors}; evaluation ${fmt.ms(((after.seconds - before.seconds) / Math.max(evaluations, 1)) * 1000)} ` +
          `per transaction, symbols read: rules ${after.rules - before.rules}, bars ${after.bars - before.bars} (newer only ${after.newer - before.newer}), ` +
          `looked up ${after.candidates - before.candidates}`,
      );
      return result;
    };
    if (firing > 0) {
      // One price per symbol first: every holding rule fires then (a burst of alerts, timed apart), so
      // that the phase measures the prices that follow, while the rules cool down.
      const { ms } = await timed(() =>
        Promise.all(
          Array.from({ length: 10 }, async () => {
            for (let k = 0; k < SYMBOL_COUNT / 10; k++)
              await fetch(`${urls[0]}/stocks`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
                body: JSON.stringify(nextPrice()),
              });
          }),
        ),
      );
      console.log(`first price of each symbol (${fmt.int(firing)} alerts fired) in ${fmt.s(ms)}`);
    }
    const cold = await describe(` (cold, first ${COLD_S} s)`, () => ingestRate(urls, COLD_S));
    const run = await describe('', () => ingestRate(urls));
    phases.push({ label, rules, ...run, cold: cold.perSecond });
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts');
    if (rows[0]!.n !== firing)
      throw new Error(`${rows[0]!.n} alerts fired: expected ${firing} (each holding rule once, no other)`);
  };
  await phase('none', 0, []);
  for (const name of GROUP_NAMES.filter((g) => !ONLY || ONLY.includes(g)))
    await phase(name === 'level' ? 'level kinds' : name, PER_KIND, [name]);
  await phase('every kind', MAX_RULES, GROUP_NAMES);
  await phase('above and holding, cooling down', PER_KIND, ['holding'], PER_KIND);

  const none = phases[0]!;
  printResults(
    phases.slice(1).map((p) => ({
      metric: `single-price ingest/s, ${fmt.int(p.rules)} ${p.label.includes('holding') ? '' : 'non-matching '}rules: ${p.label} (${SYMBOL_COUNT} symbols)`,
      measured: `${fmt.int(p.perSecond)} /s (p99 ${fmt.ms(p.p99)}; first ${COLD_S} s: ${fmt.int(p.cold)} /s)`,
      baseline: `${fmt.int(none.perSecond)} /s with no rules (p99 ${fmt.ms(none.p99)})`,
      ratio: fmt.ratio(p.perSecond / none.perSecond),
      target: p.rules === MAX_RULES ? `≥ ${TARGET}` : '',
      ...(p.rules === MAX_RULES && { met: p.perSecond / none.perSecond >= TARGET }),
    })),
  );
});
