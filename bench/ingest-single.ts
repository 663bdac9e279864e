/**
 * Bench 1: single-price `POST /stocks` from 50 concurrent connections, against the same single-row
 * inserts done directly with `pg` from 50 concurrent loops over a pool of 50, for the same duration.
 * Target: API throughput ≥ 0.7 × direct.
 *
 *   npx tsx bench/ingest-single.ts [--duration=10] [--rounds=4] [--connections=50]
 */
import autocannon from 'autocannon';
import type pg from 'pg';
import {
  createDatabase,
  fmt,
  INGEST_TOKEN,
  mean,
  measureCpu,
  numberFlag,
  percentile,
  postgresVersion,
  printResults,
  runBench,
  SYMBOLS,
  serverEnv,
  startServer,
  warmPool,
} from './lib.ts';

const DURATION_S = numberFlag('duration', 'BENCH_DURATION', 10);
const ROUNDS = numberFlag('rounds', 'BENCH_ROUNDS', 4);
const CONNECTIONS = numberFlag('connections', 'BENCH_CONNECTIONS', 50);
// The server's JIT needs a while: with 3 s the first measured API round ran at half speed.
const WARMUP_S = 10;
const TARGET = 0.7;

// One counter for the whole run, API and pg alike: every (symbol, ts) is new, each symbol's timestamps
// only grow (so every API price is fresh and moves its symbol forward, as live ingest does), and all of
// them lie in the past, well inside the "5 minutes in the future" rule.
const base = Date.now() - 3 * 86_400_000;
let n = 0;
/** Prices answered with success (2xx, or a resolved query): each must be a stored row. */
let acknowledged = 0;
function nextPrice() {
  const i = n++;
  return {
    symbol: SYMBOLS[i % SYMBOLS.length]!,
    timestamp: new Date(base + i).toISOString(),
    price: 100 + (i % 1000) / 100,
    volume: 100 + (i % 900),
  };
}

const INSERT = `INSERT INTO prices (symbol, ts, price, volume) VALUES ($1, $2, $3, $4)
                ON CONFLICT (symbol, ts) DO NOTHING`;

interface Run {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  serverCores: number;
  benchCores: number;
}

async function direct(pool: pg.Pool, seconds: number): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const p = nextPrice();
      const t = performance.now();
      try {
        await pool.query(INSERT, [p.symbol, p.timestamp, p.price, p.volume]);
        latencies.push(performance.now() - t);
        acknowledged++;
      } catch {
        errors++;
      }
    }
  };
  const { benchCores } = await measureCpu(process.pid, () =>
    Promise.all(Array.from({ length: CONNECTIONS }, loop)),
  );
  const elapsed = (performance.now() - started) / 1000;
  return {
    perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    serverCores: 0,
    benchCores,
  };
}

async function api(url: string, serverPid: number, seconds: number): Promise<Run> {
  const { result, serverCores, benchCores } = await measureCpu(serverPid, () =>
    autocannon({
      url,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          path: '/stocks',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
          setupRequest: (request) => ({ ...request, body: JSON.stringify(nextPrice()) }),
        },
      ],
    }),
  );
  acknowledged += result['2xx'];
  return {
    perSecond: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    serverCores,
    benchCores,
  };
}

runBench('Bench 1: single-price POST /stocks, 50 connections', 10 * 60_000, async () => {
  const db = await createDatabase('single');
  console.log(
    `PostgreSQL ${await postgresVersion(db.url)} on 127.0.0.1; ${DURATION_S} s per run, ${ROUNDS} round(s)`,
  );
  // The server applies the migrations, so it starts first; the direct loops then use its table.
  const server = await startServer({ command: 'server', env: serverEnv(db.url) });
  const pool = await warmPool(db.url, CONNECTIONS);

  await direct(pool, WARMUP_S);
  await api(server.url, server.pid, WARMUP_S);

  const directRuns: Run[] = [];
  const apiRuns: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that neither side always runs on the larger table.
    const order = round % 2 === 0 ? (['direct', 'api'] as const) : (['api', 'direct'] as const);
    for (const side of order) {
      if (side === 'direct') directRuns.push(await direct(pool, DURATION_S));
      else apiRuns.push(await api(server.url, server.pid, DURATION_S));
      const last = side === 'direct' ? directRuns.at(-1)! : apiRuns.at(-1)!;
      console.log(
        `round ${round + 1} ${side.padEnd(6)} ${fmt.int(last.perSecond).padStart(7)} /s  ` +
          `p50 ${fmt.ms(last.p50)}  p99 ${fmt.ms(last.p99)}  errors ${last.errors}  ` +
          `CPU: server ${fmt.pct(last.serverCores)} of a core, bench process ${fmt.pct(last.benchCores)}`,
      );
    }
  }

  // Every answered request must have its row committed: rows ≥ 2xx answers (a few more may have
  // committed while autocannon was stopping).
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM prices');
  const stored = rows[0]!.n;
  console.log(
    `rows stored: ${fmt.int(stored)}; acknowledged: ${fmt.int(acknowledged)}; generated: ${fmt.int(n)}`,
  );
  if (stored < acknowledged) throw new Error('fewer rows stored than prices acknowledged');

  // The machine is shared: the spread of the rounds says how far to trust the mean.
  const perRound = apiRuns.map((r, i) => fmt.ratio(r.perSecond / directRuns[i]!.perSecond));
  console.log(`ratio per round: ${perRound.join(', ')}`);
  const apiRate = mean(apiRuns.map((r) => r.perSecond));
  const directRate = mean(directRuns.map((r) => r.perSecond));
  const ratio = apiRate / directRate;
  printResults([
    {
      metric: `single-price inserts/s, ${CONNECTIONS} concurrent (mean of ${ROUNDS} × ${DURATION_S} s)`,
      measured: `${fmt.int(apiRate)} /s (POST /stocks)`,
      baseline: `${fmt.int(directRate)} /s (pg, pool of ${CONNECTIONS})`,
      ratio: fmt.ratio(ratio),
      target: `≥ ${TARGET}`,
      met: ratio >= TARGET,
    },
    {
      metric: 'latency p50 / p99',
      measured: `${fmt.ms(mean(apiRuns.map((r) => r.p50)))} / ${fmt.ms(mean(apiRuns.map((r) => r.p99)))}`,
      baseline: `${fmt.ms(mean(directRuns.map((r) => r.p50)))} / ${fmt.ms(mean(directRuns.map((r) => r.p99)))}`,
      ratio: '',
      target: '',
    },
  ]);
});
