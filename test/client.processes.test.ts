import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIntraday } from '../src/market-data/alphavantage/parse.ts';
import { type FixtureServer, readFixture, startFixtureServer } from './fixtures-server.ts';
import { createTestDatabase } from './helpers/runtime.ts';

/**
 * The client and the server as the separate processes they are in production: `node bin/stockwatch.mjs
 * server` on a fresh PostgreSQL database, `node bin/stockwatch.mjs client` against the Alpha Vantage
 * fixtures served locally. Processes are killed with SIGKILL, as a crash or a power cut would.
 */

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../bin/stockwatch.mjs');
const INGEST_TOKEN = 'process-test-ingest-token-0123456789';
const IBM = 'intraday-1min-IBM-2025-03-07-est.json';
const MSFT = 'intraday-1min-MSFT-2025-03-10-edt.json';

interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the CLI with only the environment given (no inherited DATABASE_URL, REDIS_URL or .env). */
function stockwatch(args: string[], env: Record<string, string>, cwd: string): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, output: () => output, exited };
}

async function kill(proc: Proc): Promise<void> {
  proc.child.kill('SIGKILL');
  await proc.exited;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startServer(
  databaseUrl: string,
  port: number,
  cwd: string,
  extra: Record<string, string> = {},
): Promise<Proc> {
  const proc = stockwatch(
    ['server'],
    {
      DATABASE_URL: databaseUrl,
      DATA_DIR: path.join(cwd, 'server-data'),
      PORT: String(port),
      INGEST_TOKEN,
      PUBLIC_PRICES: 'true',
      LOG_LEVEL: 'warn',
      ...extra,
    },
    cwd,
  );
  await waitFor(`the server on port ${port}\n${proc.output()}`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`server exited:\n${proc.output()}`);
    return fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
  });
  return proc;
}

function clientEnv(
  fixtures: FixtureServer,
  port: number,
  dataDir: string,
  extra: Record<string, string> = {},
) {
  return {
    MARKET_DATA_PROVIDER: 'alphavantage',
    ALPHAVANTAGE_API_KEY: 'test-key',
    ALPHAVANTAGE_BASE_URL: fixtures.origin,
    SYMBOLS: 'IBM,MSFT',
    SERVER_URL: `http://127.0.0.1:${port}`,
    INGEST_TOKEN,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...extra,
  };
}

async function database() {
  const db = await createTestDatabase();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  cleanups.push(async () => {
    await client.end();
    await db.drop();
  });
  return {
    url: db.url,
    async count(): Promise<number> {
      // The server creates the table on start; before that there is nothing.
      const r = await client
        .query('SELECT count(*)::int AS n FROM prices')
        .catch(() => ({ rows: [{ n: 0 }] }));
      return r.rows[0].n;
    },
    async rows(): Promise<Array<{ symbol: string; ts: string; price: number }>> {
      const r = await client.query(
        `SELECT symbol, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, price
         FROM prices ORDER BY symbol, ts`,
      );
      return r.rows;
    },
  };
}

const spooledLines = (dataDir: string) => {
  try {
    return readFileSync(path.join(dataDir, 'client', 'spool.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('stockwatch client against a real stockwatch server on PostgreSQL', () => {
  it('--once: posts the fixtures’ bars, which GET /stocks/{symbol} returns at their exact instants; a run with the server down exits 1 and the next one sends its bars', async () => {
    const cwd = tempDir('stockwatch-e2e-');
    const db = await database();
    const port = await freePort();
    const fixtures = await startFixtureServer((url) => ({
      file: url.searchParams.get('symbol') === 'MSFT' ? MSFT : IBM,
    }));
    cleanups.push(() => fixtures.close());
    const env = clientEnv(fixtures, port, path.join(cwd, 'client-data'));

    // No server yet: the bars are fetched, spooled, and the run says so with its exit code.
    const offline = stockwatch(['client', '--once'], env, cwd);
    expect(await offline.exited).toBe(1);
    expect(offline.output()).toMatch(/round 1: fetched 200, sent 0 \(0 new\), spooled 200/);
    expect(offline.output()).toMatch(/200 bars stay in .*spool\.jsonl; the next run sends them first/);
    expect(spooledLines(env.DATA_DIR)).toBe(200);

    await startServer(db.url, port, cwd);
    const online = stockwatch(['client', '--once'], env, cwd);
    expect(await online.exited).toBe(0);
    // The plan line, then one progress line; the quota count carried over from the first run.
    expect(online.output()).toMatch(
      /2 symbols, 25 calls\/day during regular hours .*: each symbol refreshed every/,
    );
    expect(online.output()).toMatch(
      /round 1: fetched 0, sent 200 \(200 new\), spooled 0; quota 21\/25 calls left today/,
    );
    expect(fixtures.requests).toHaveLength(4);
    expect(spooledLines(env.DATA_DIR)).toBe(0);

    for (const [symbol, file, start, end] of [
      ['IBM', IBM, '2025-03-07T19:00:00Z', '2025-03-07T22:00:00Z'],
      ['MSFT', MSFT, '2025-03-10T12:00:00Z', '2025-03-10T14:00:00Z'],
    ] as const) {
      const res = await fetch(
        `http://127.0.0.1:${port}/stocks/${symbol}?start_time=${start}&end_time=${end}&max_points=1000`,
      );
      expect(res.status).toBe(200);
      const { data } = (await res.json()) as {
        data: Array<{ timestamp: string; price: number; volume: number }>;
      };
      const expected = parseIntraday(readFixture(file)).bars;
      expect(data.map((p) => [p.timestamp, p.price, p.volume])).toEqual(
        expected.map((b) => [b.timestamp, b.price, b.volume]),
      );
    }
    expect(await db.count()).toBe(200);

    const status = (await (await fetch(`http://127.0.0.1:${port}/client-status`)).json()) as {
      clients: Array<{ quota: { calls_left_today: number }; spooled: number }>;
      symbols: Array<{ symbol: string; last_success_at: string | null; newest_bar_at: string | null }>;
    };
    expect(status.clients).toHaveLength(1);
    expect(status.clients[0]).toMatchObject({ quota: { calls_left_today: 21 }, spooled: 0 });
    expect(status.symbols.map((s) => [s.symbol, s.newest_bar_at])).toEqual([
      ['IBM', '2025-03-07T21:00:00.000Z'],
      ['MSFT', '2025-03-10T13:45:00.000Z'],
    ]);
    for (const s of status.symbols) expect(Date.now() - Date.parse(s.last_success_at!)).toBeLessThan(120_000);
  }, 240_000);

  it('with the server stopped for a while and the client killed and restarted meanwhile, every bar fetched reaches the database exactly once', async () => {
    const cwd = tempDir('stockwatch-outage-');
    const db = await database();
    const port = await freePort();

    // Each call for a symbol answers the five newest of a series that grows by one minute per call:
    // a bar fetched while the server is down soon leaves the provider's window, so only the client's
    // spool can still deliver it.
    const WINDOW = 5;
    const calls = new Map<string, number>();
    let frozen = false;
    const served = new Map<string, Map<string, number>>();
    const fixtures = await startFixtureServer((url) => {
      const symbol = url.searchParams.get('symbol')!;
      const n = calls.get(symbol) ?? 0;
      if (!frozen) calls.set(symbol, n + 1);
      const minutes = Array.from({ length: WINDOW }, (_, i) => n + i);
      const bars = served.get(symbol) ?? new Map<string, number>();
      served.set(symbol, bars);
      const series: Record<string, Record<string, string>> = {};
      for (const m of minutes) {
        // 10:00 EDT on 10 March 2025 onwards.
        const at = new Date(Date.UTC(2025, 2, 10, 14, m));
        const local = `2025-03-10 ${String(10 + Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}:00`;
        const close = (symbol === 'IBM' ? 250 : 380) + m / 100;
        bars.set(at.toISOString(), close);
        series[local] = {
          '1. open': String(close),
          '2. high': String(close + 0.5),
          '3. low': String(close - 0.5),
          '4. close': String(close),
          '5. volume': String(1000 + m),
        };
      }
      return {
        json: {
          'Meta Data': { '2. Symbol': symbol, '4. Interval': '1min', '6. Time Zone': 'US/Eastern' },
          'Time Series (1min)': series,
        },
      };
    });
    cleanups.push(() => fixtures.close());
    const requests = () => fixtures.requests.length;
    const dataDir = path.join(cwd, 'client-data');
    // 600 calls a minute without a daily cap, around the clock: a call every 100 ms.
    const env = clientEnv(fixtures, port, dataDir, {
      ALPHAVANTAGE_CALLS_PER_MINUTE: '600',
      ALPHAVANTAGE_CALLS_PER_DAY: 'unlimited',
      MARKET_HOURS: 'always',
    });

    const server = await startServer(db.url, port, cwd);
    const first = stockwatch(['client'], env, cwd);
    await waitFor('prices in the database', async () => (await db.count()) >= 2 * WINDOW);

    await kill(server);
    const storedBeforeOutage = await db.count();
    const downFrom = requests();
    await waitFor('the client to fetch for a while with the server down', () => requests() >= downFrom + 30);
    await waitFor('spooled bars', () => spooledLines(dataDir) > 0);
    await kill(first);
    const spooledAtCrash = spooledLines(dataDir);

    const second = stockwatch(['client'], env, cwd);
    const restartFrom = requests();
    await waitFor('the restarted client to fetch for a while', () => requests() >= restartFrom + 30, 90_000);
    expect(spooledLines(dataDir)).toBeGreaterThan(spooledAtCrash);

    // From here on the provider only repeats its last window, so what it served before is final.
    frozen = true;
    await startServer(db.url, port, cwd);
    const expected = [...served]
      .flatMap(([symbol, bars]) => [...bars].map(([ts, price]) => ({ symbol, ts, price })))
      .sort((a, b) => (a.symbol + a.ts < b.symbol + b.ts ? -1 : 1));
    await waitFor(
      'every fetched bar in the database',
      async () => (await db.count()) >= expected.length && spooledLines(dataDir) === 0,
      90_000,
    );
    expect(await db.rows()).toEqual(expected);

    // The test means something only if many bars had left the provider's window by the time the
    // server returned: those can only have come from the spool, across the client's crash.
    const fromSpoolOnly = expected.length - storedBeforeOutage - served.size * WINDOW;
    expect(fromSpoolOnly).toBeGreaterThan(20);
    expect(second.output()).toMatch(/\d+ bars left from an earlier run go out first/);
    expect(second.output()).toMatch(/the server answers again: sent \d+ spooled bars/);
  }, 300_000);

  it('fires a notification from the bars the client posted', async () => {
    const cwd = tempDir('stockwatch-fire-');
    const db = await database();
    const port = await freePort();
    const fixtures = await startFixtureServer(() => ({ file: IBM }));
    cleanups.push(() => fixtures.close());
    // The fixture's bars are from 2025: let the server evaluate prices of any age for this test.
    await startServer(db.url, port, cwd, { ALERT_MAX_PRICE_AGE: '100000h' });
    const base = `http://127.0.0.1:${port}`;
    const signUp = await fetch(`${base}/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ email: 'ibm@example.com', password: 'password-ibm-1' }),
    });
    expect(signUp.status).toBe(200);
    const cookie = signUp.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const bars = parseIntraday(readFixture(IBM)).bars;
    const last = bars[bars.length - 1]!;
    const rule = await fetch(`${base}/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: base },
      body: JSON.stringify({ symbol: 'IBM', condition: `price > ${Math.floor(last.price) - 1}` }),
    });
    expect(rule.status).toBe(201);

    const client = stockwatch(
      ['client', '--once'],
      clientEnv(fixtures, port, path.join(cwd, 'client-data'), { SYMBOLS: 'IBM' }),
      cwd,
    );
    expect(await client.exited).toBe(0);
    const alerts = (await (await fetch(`${base}/alerts`, { headers: { cookie } })).json()) as {
      data: Array<{ symbol: string; price: number; price_at: string }>;
    };
    // Only the newest bar of the batch is evaluated: one alert, at the close of 16:00 New York time.
    expect(alerts.data).toEqual([
      expect.objectContaining({ symbol: 'IBM', price: last.price, price_at: '2025-03-07T21:00:00.000Z' }),
    ]);
  }, 240_000);
});
