/**
 * Evaluation cost: single-price `POST /stocks` throughput (50 connections) with 0, 100,000 and
 * 1,000,000 active notifications that do not match, spread over 500 symbols, all in one run on one
 * database. Every price is fresh (so every one is evaluated) and moves its symbol forward.
 * Target: with 1,000,000 rules at least 0.8 × the throughput with none.
 *
 *   npx tsx bench/evaluation.ts [--duration=10] [--rules=1000000]
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
const MAX_RULES = numberFlag('rules', 'BENCH_RULES', 1_000_000);
const CONNECTIONS = 50;
const SYMBOL_COUNT = 500;
const TARGET = 0.8;
const symbols = Array.from({ length: SYMBOL_COUNT }, (_, i) => `S${String(i).padStart(3, '0')}`);

// Fresh prices: a few minutes old at most and strictly increasing per symbol.
const base = Date.now() - 5 * 60_000;
let n = 0;
function nextPrice() {
  const i = n++;
  return {
    symbol: symbols[i % SYMBOL_COUNT]!,
    timestamp: new Date(base + i).toISOString(),
    price: 100 + (i % 1000) / 100,
    volume: 100,
  };
}

async function ingestRate(url: string): Promise<{ perSecond: number; p99: number; errors: number }> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method: 'POST',
        path: '/stocks',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
        setupRequest: (request) => ({ ...request, body: JSON.stringify(nextPrice()) }),
      },
    ],
  });
  return {
    perSecond: result['2xx'] / result.duration,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

runBench('Evaluation: ingest throughput as rules grow', 20 * 60_000, async () => {
  const db = await createDatabase('eval');
  console.log(
    `PostgreSQL ${await postgresVersion(db.url)}; ${DURATION_S} s per phase, ${SYMBOL_COUNT} symbols`,
  );
  const server = await startServer({ command: 'server', env: serverEnv(db.url) });
  const pool = await warmPool(db.url, 2);
  await pool.query(`INSERT INTO "user" (id, name, email) VALUES ('bench', 'bench', 'bench@example.com')`);

  /**
   * Rules that never match prices of 100-110: every kind, thresholds far away on the side that
   * cannot hold, so each evaluation scans the index and finds nothing.
   */
  const addRules = async (count: number) =>
    timed(() =>
      pool.query(
        `INSERT INTO notifications (user_id, symbol, kind, threshold, channels)
         SELECT 'bench', 'S' || lpad((g % ${SYMBOL_COUNT})::text, 3, '0'),
                (ARRAY['above','at_or_above','below','at_or_below','crosses_above','crosses_below'])[1 + g % 6],
                CASE WHEN g % 6 IN (0, 1, 4) THEN 1000 + (g % 5000) ELSE 1 + (g % 50) / 10.0 END,
                '[{"type":"email"}]'::jsonb
         FROM generate_series(1, $1) g`,
        [count],
      ),
    );

  await ingestRate(server.url); // warm-up: symbols exist, JIT and pools are hot
  const phases: Array<{ rules: number; perSecond: number; p99: number; errors: number }> = [];
  let rules = 0;
  for (const target of [0, 100_000, MAX_RULES]) {
    if (target > rules) {
      const { ms } = await timed(() => addRules(target - rules));
      await pool.query('VACUUM ANALYZE notifications');
      console.log(`added ${fmt.int(target - rules)} rules in ${fmt.s(ms)}`);
      rules = target;
    }
    const run = await ingestRate(server.url);
    phases.push({ rules, ...run });
    console.log(
      `${fmt.int(rules).padStart(9)} rules: ${fmt.int(run.perSecond)} /s, p99 ${fmt.ms(run.p99)}, errors ${run.errors}`,
    );
  }
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts');
  if (rows[0]!.n !== 0) throw new Error(`${rows[0]!.n} alerts fired: the rules were meant never to match`);

  const none = phases[0]!;
  printResults(
    phases.slice(1).map((p) => ({
      metric: `single-price ingest/s with ${fmt.int(p.rules)} non-matching rules (${SYMBOL_COUNT} symbols)`,
      measured: `${fmt.int(p.perSecond)} /s (p99 ${fmt.ms(p.p99)})`,
      baseline: `${fmt.int(none.perSecond)} /s with no rules (p99 ${fmt.ms(none.p99)})`,
      ratio: fmt.ratio(p.perSecond / none.perSecond),
      target: p.rules === MAX_RULES ? `≥ ${TARGET}` : '',
      ...(p.rules === MAX_RULES && { met: p.perSecond / none.perSecond >= TARGET }),
    })),
  );
});
