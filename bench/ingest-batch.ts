/**
 * Bench 2: 1,000-price batches through `POST /stocks`, one request after another, against one
 * multi-row INSERT of the same rows done directly with `pg`. Target: API rows/s ≥ 0.5 × direct.
 *
 *   npx tsx bench/ingest-batch.ts [--batches=50] [--rounds=4] [--size=1000]
 */
import type pg from 'pg';
import {
  createDatabase,
  fmt,
  INGEST_TOKEN,
  measureCpu,
  median,
  numberFlag,
  postgresVersion,
  printResults,
  runBench,
  SYMBOLS,
  serverEnv,
  startServer,
  warmPool,
} from './lib.ts';

const BATCHES = numberFlag('batches', 'BENCH_BATCHES', 50);
const ROUNDS = numberFlag('rounds', 'BENCH_ROUNDS', 4);
const SIZE = numberFlag('size', 'BENCH_BATCH_SIZE', 1000);
const WARMUP = 5;
const TARGET = 0.5;

interface Bar {
  symbol: string;
  timestamp: string;
  price: number;
  open: number;
  high: number;
  low: number;
  volume: number;
}

// Minute bars of the ten symbols, as the client posts them: each batch holds 100 new minutes of each
// symbol, so every row is new and every symbol moves forward.
const base = Date.now() - 365 * 86_400_000;
let minute = 0;
function nextBatch(): Bar[] {
  const bars: Bar[] = [];
  const perSymbol = Math.ceil(SIZE / SYMBOLS.length);
  for (let m = 0; m < perSymbol && bars.length < SIZE; m++, minute++)
    for (const [s, symbol] of SYMBOLS.entries()) {
      if (bars.length === SIZE) break;
      const price = 100 + s * 10 + Math.sin(minute / 50);
      bars.push({
        symbol,
        timestamp: new Date(base + minute * 60_000).toISOString(),
        price: round2(price),
        open: round2(price - 0.05),
        high: round2(price + 0.1),
        low: round2(price - 0.1),
        volume: 1000 + ((minute * 7 + s) % 500),
      });
    }
  return bars;
}
const round2 = (x: number) => Math.round(x * 100) / 100;

const COLUMNS = 7;
const MULTI_ROW_INSERT = `INSERT INTO prices (symbol, ts, price, open, high, low, volume) VALUES ${Array.from(
  { length: SIZE },
  (_, r) => `(${Array.from({ length: COLUMNS }, (_, c) => `$${r * COLUMNS + c + 1}`).join(', ')})`,
).join(', ')} ON CONFLICT (symbol, ts) DO NOTHING`;

interface Run {
  rowsPerSecond: number;
  medianMs: number;
  serverCores: number;
  benchCores: number;
}

async function direct(pool: pg.Pool, count: number): Promise<Run> {
  // The rows are made before the clock starts, as the API side's bodies are.
  const params = Array.from({ length: count }, () =>
    nextBatch().flatMap((b) => [b.symbol, b.timestamp, b.price, b.open, b.high, b.low, b.volume]),
  );
  const times: number[] = [];
  const started = performance.now();
  const { benchCores } = await measureCpu(process.pid, async () => {
    for (const values of params) {
      const t = performance.now();
      const result = await pool.query(MULTI_ROW_INSERT, values);
      if (result.rowCount !== SIZE) throw new Error(`direct insert stored ${result.rowCount} of ${SIZE}`);
      times.push(performance.now() - t);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return { rowsPerSecond: (count * SIZE) / seconds, medianMs: median(times), serverCores: 0, benchCores };
}

async function api(url: string, serverPid: number, count: number): Promise<Run> {
  const bodies = Array.from({ length: count }, () => JSON.stringify(nextBatch()));
  const times: number[] = [];
  const started = performance.now();
  const { serverCores, benchCores } = await measureCpu(serverPid, async () => {
    for (const body of bodies) {
      const t = performance.now();
      const response = await fetch(`${url}/stocks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
        body,
      });
      const answer = (await response.json()) as { inserted?: number };
      if (response.status !== 201 || answer.inserted !== SIZE)
        throw new Error(`POST /stocks answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
      times.push(performance.now() - t);
    }
  });
  const seconds = (performance.now() - started) / 1000;
  return { rowsPerSecond: (count * SIZE) / seconds, medianMs: median(times), serverCores, benchCores };
}

runBench(`Bench 2: ${fmt.int(SIZE)}-price batches through POST /stocks`, 10 * 60_000, async () => {
  const db = await createDatabase('batch');
  console.log(
    `PostgreSQL ${await postgresVersion(db.url)} on 127.0.0.1; ${BATCHES} batches of ${SIZE} per run, ` +
      `one at a time, ${ROUNDS} round(s)`,
  );
  const server = await startServer({ command: 'server', env: serverEnv(db.url) });
  const pool = await warmPool(db.url, 1);

  await direct(pool, WARMUP);
  await api(server.url, server.pid, WARMUP);

  const directRuns: Run[] = [];
  const apiRuns: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['direct', 'api'] as const) : (['api', 'direct'] as const);
    for (const side of order) {
      const run =
        side === 'direct' ? await direct(pool, BATCHES) : await api(server.url, server.pid, BATCHES);
      (side === 'direct' ? directRuns : apiRuns).push(run);
      console.log(
        `round ${round + 1} ${side.padEnd(6)} ${fmt.int(run.rowsPerSecond).padStart(8)} rows/s  ` +
          `median batch ${fmt.ms(run.medianMs)}  ` +
          `CPU: server ${fmt.pct(run.serverCores)} of a core, bench process ${fmt.pct(run.benchCores)}`,
      );
    }
  }

  // The machine is shared: the spread of the rounds says how far to trust the mean.
  const perRound = apiRuns.map((r, i) => fmt.ratio(r.rowsPerSecond / directRuns[i]!.rowsPerSecond));
  console.log(`ratio per round: ${perRound.join(', ')}`);
  const meanRate = (runs: Run[]) => runs.reduce((a, r) => a + r.rowsPerSecond, 0) / runs.length;
  const apiRate = meanRate(apiRuns);
  const directRate = meanRate(directRuns);
  const ratio = apiRate / directRate;
  const medianOf = (runs: Run[]) => median(runs.map((r) => r.medianMs));
  printResults([
    {
      metric: `rows/s in ${SIZE}-row batches, one at a time (mean of ${ROUNDS} × ${BATCHES} batches)`,
      measured: `${fmt.int(apiRate)} rows/s (POST /stocks)`,
      baseline: `${fmt.int(directRate)} rows/s (pg multi-row INSERT)`,
      ratio: fmt.ratio(ratio),
      target: `≥ ${TARGET}`,
      met: ratio >= TARGET,
    },
    {
      metric: 'median time per batch',
      measured: fmt.ms(medianOf(apiRuns)),
      baseline: fmt.ms(medianOf(directRuns)),
      ratio: '',
      target: '',
    },
  ]);
});
