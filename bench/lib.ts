/**
 * What every benchmark shares: a fresh PostgreSQL database, the stockwatch server as a real child
 * process, statistics, and the table each bench prints. Benchmarks talk over loopback only, clean up
 * after themselves (databases dropped, children stopped, temporary folders removed) and stop by
 * themselves within a deadline, even when something fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(REPO_ROOT, 'bin', 'stockwatch.mjs');

/** The admin connection of this machine's PostgreSQL; each bench makes and drops its own database. */
export const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The ten symbols of the seed, so that ingest touches as many symbol rows as the real system does. */
export const SYMBOLS = ['AAPL', 'GOOGL', 'MSFT', 'AMZN', 'META', 'NVDA', 'TSLA', 'JPM', 'V', 'NFLX'];

export const INGEST_TOKEN = 'bench-ingest-token-0123456789abcdef';

// ---------------------------------------------------------------- settings

/** A number from `--name=value` / `--name value` on the command line, else `env`, else `fallback`. */
export function numberFlag(name: string, env: string, fallback: number): number {
  const argv = process.argv.slice(2);
  let raw: string | undefined;
  for (const [i, arg] of argv.entries()) {
    if (arg === `--${name}`) raw = argv[i + 1];
    else if (arg.startsWith(`--${name}=`)) raw = arg.slice(name.length + 3);
  }
  raw ??= process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} / ${env}: expected a positive number`);
  return value;
}

// ---------------------------------------------------------------- cleanup and deadline

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];

/** Registers work to undo at the end (last registered, first run), whether the bench succeeds or not. */
export function defer(cleanup: Cleanup) {
  cleanups.push(cleanup);
}

async function runCleanups() {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    try {
      await cleanup();
    } catch (error) {
      console.error('cleanup failed:', error);
    }
  }
}

/**
 * Runs a bench: prints the header, enforces a deadline (after which everything is stopped and the
 * process exits 1), undoes everything registered with `defer` on success, failure or Ctrl-C.
 */
export function runBench(title: string, deadlineMs: number, body: () => Promise<void>) {
  let finished = false;
  const abort = (why: string, code: number) => {
    if (finished) return;
    finished = true;
    console.error(`\n${title}: ${why}; cleaning up`);
    void runCleanups().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  const deadline = setTimeout(
    () => abort(`deadline of ${Math.round(deadlineMs / 1000)} s passed`, 1),
    deadlineMs,
  );
  deadline.unref();

  console.log(`\n## ${title}\n`);
  console.log(machineLine());
  body().then(
    async () => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      await runCleanups();
      process.exit(0);
    },
    async (error: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      console.error(error);
      await runCleanups();
      process.exit(1);
    },
  );
}

export function machineLine(): string {
  const cpu = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  return (
    `${new Date().toISOString()} · Node ${process.version} · ${cpu.length} × ${cpu[0]?.model.trim() ?? '?'} · ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB · load average ${load} (shared machine: other engineers work on it)`
  );
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `stockwatch-bench-${prefix}-`));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------- PostgreSQL

export interface BenchDatabase {
  name: string;
  url: string;
}

/** An empty database on the real PostgreSQL, dropped when the bench ends. */
export async function createDatabase(label: string): Promise<BenchDatabase> {
  const name = `sw_bench_${label}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  defer(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

async function adminQuery(text: string) {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
}

export async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return rows[0]?.v ?? '?';
  } finally {
    await client.end();
  }
}

/** A pool whose `size` connections are all open before timing starts, closed when the bench ends. */
export async function warmPool(url: string, size: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: size });
  pool.on('error', () => {});
  defer(() => pool.end());
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  await Promise.all(clients.map((c) => c.query('SELECT 1')));
  for (const c of clients) c.release();
  return pool;
}

// ---------------------------------------------------------------- the server as a child process

export interface ServerProcess {
  pid: number;
  url: string;
  dataDir: string;
  logFile: string;
  /** Milliseconds from spawn to the first 200 from /health. */
  startupMs: number;
  child: ChildProcess;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s); resolves with the milliseconds it took. */
  stop(): Promise<number>;
}

/** A port nobody listens on right now (loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node bin/stockwatch.mjs <command>` with exactly the given settings (nothing of this shell's
 * environment or of a `.env` leaks in: it runs in its DATA_DIR) and waits until /health answers.
 */
export async function startServer(options: {
  command: 'server' | 'all';
  /** Another build of the program to start (e.g. a copy under test); default bin/stockwatch.mjs. */
  bin?: string;
  env?: Record<string, string>;
  dataDir?: string;
  healthTimeoutMs?: number;
}): Promise<ServerProcess> {
  const dataDir = options.dataDir ?? tempDir('data');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(dataDir, `server-${Date.now()}.log`);
  const log = openSync(logFile, 'a');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    ...options.env,
  };
  const started = performance.now();
  const child = spawn(process.execPath, [options.bin ?? BIN, options.command], {
    cwd: dataDir,
    env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  let exited: number | null = null;
  const exit = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? 128 : 1);
      resolve(exited);
    }),
  );
  const stop = async () => {
    if (exited !== null) return 0;
    const t = performance.now();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exit;
    clearTimeout(timer);
    return performance.now() - t;
  };
  defer(async () => {
    await stop();
  });

  const timeoutMs = options.healthTimeoutMs ?? 60_000;
  for (;;) {
    if (exited !== null)
      throw new Error(
        `stockwatch ${options.command} exited with ${exited} before /health:\n${tail(logFile)}`,
      );
    if (performance.now() - started > timeoutMs)
      throw new Error(`stockwatch ${options.command}: no /health within ${timeoutMs} ms:\n${tail(logFile)}`);
    const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(10);
  }
  const startupMs = performance.now() - started;
  return { pid: child.pid!, url, dataDir, logFile, startupMs, child, stop };
}

/** The environment for `stockwatch server` on a bench database: quiet, no simulator, limits out of the way. */
export function serverEnv(databaseUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    MARKET_DATA_PROVIDER: 'none',
    INGEST_TOKEN,
    // Far above anything a bench sends in a minute from one address.
    RATE_LIMIT_PER_MINUTE: '1000000',
    INGEST_RATE_LIMIT_PER_MINUTE: '1000000',
    // History is read without signing in: the benches measure prices, not the session or token lookup.
    PUBLIC_PRICES: 'true',
  };
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------- /proc

/** Resident memory of a process in bytes (VmRSS), or the peak (VmHWM). */
export function residentBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** CPU seconds (user + system) a process has used so far; USER_HZ is 100 on Linux. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU used by this process and by `pid` over `work`, as a share of one core. */
export async function measureCpu<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; serverCores: number; benchCores: number }> {
  const t = performance.now();
  const server = cpuSeconds(pid);
  const self = process.cpuUsage();
  const result = await work();
  const seconds = (performance.now() - t) / 1000;
  const used = process.cpuUsage(self);
  return {
    result,
    serverCores: (cpuSeconds(pid) - server) / seconds,
    benchCores: (used.user + used.system) / 1e6 / seconds,
  };
}

// ---------------------------------------------------------------- statistics

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Linear interpolation between the closest ranks.
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export const median = (values: number[]) => percentile(values, 50);
export const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t = performance.now();
  const result = await work();
  return { ms: performance.now() - t, result };
}

// ---------------------------------------------------------------- report

export interface ResultRow {
  metric: string;
  measured: string;
  baseline: string;
  /** measured / baseline, or measured / target where the target is absolute. */
  ratio: string;
  target: string;
  /** Undefined for a row that only explains another. */
  met?: boolean;
}

/** Prints the results as a Markdown table, ready for docs/PERFORMANCE.md. */
export function printResults(rows: ResultRow[]) {
  console.log('\n| metric | measured | baseline | ratio | target | met? |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows)
    console.log(
      `| ${r.metric} | ${r.measured} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'NO'} |`,
    );
  console.log('');
}

export const fmt = {
  int: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`,
  s: (ms: number) => `${(ms / 1000).toFixed(2)} s`,
  mb: (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`,
  ratio: (n: number) => n.toFixed(2),
  pct: (n: number) => `${Math.round(n * 100)}%`,
};
