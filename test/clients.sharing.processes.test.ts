import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientStatusReport } from '../src/market-data/client-status.schemas.ts';
import { ownedBy } from '../src/market-data/sharing/rendezvous.ts';
import { startFakeIngestServer } from '../src/market-data/test-helpers.ts';
import { type FixtureServer, startFixtureServer } from './fixtures-server.ts';
import {
  eventually,
  freePort,
  type RunningProcess,
  spawnStockwatch,
  startPrivateRedis,
} from './helpers/process.ts';

/**
 * `stockwatch client` processes sharing the symbols and one Alpha Vantage key through a Redis of their
 * own: one stops cleanly or is killed, and the other takes its symbols over without any symbol being
 * fetched twice in one period. Each client has a fake Alpha Vantage of its own, so the test knows who
 * asked for what; Redis reports every fetch lease taken (keyspace events), so the test can tell that no
 * two fetches of a symbol shared one period.
 */

const SYMBOLS = ['AAPL', 'GOOGL', 'MSFT', 'AMZN', 'META', 'NVDA', 'TSLA', 'JPM', 'V'];
const IBM = 'intraday-1min-IBM-2025-03-07-est.json';
const INGEST_TOKEN = 'sharing-test-ingest-token-0123456789';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let redisUrl: string;
beforeAll(async () => {
  const redis = await startPrivateRedis();
  redisUrl = redis.url;
  return () => redis.stop();
});

interface LogLine {
  msg?: string;
  member?: string;
  members?: string[];
  owned?: string[];
}

function logLines(proc: RunningProcess): LogLine[] {
  return proc
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
}

/** The client's last word on its share: its id, who it sees alive, what it fetches. */
function share(proc: RunningProcess) {
  const last = logLines(proc)
    .filter((l) => l.owned && l.members && l.member)
    .at(-1);
  return last && { id: last.member!, members: last.members!, owned: last.owned! };
}

async function setup() {
  const group = `test-${randomUUID().slice(0, 8)}`;
  const apiKey = `test-key-${randomUUID()}`;
  const ingest = await startFakeIngestServer();
  cleanups.push(() => ingest.close());

  // Every fetch lease taken, as Redis announces it: `stockwatch:group:<group>:fetch:<symbol>:<period>`.
  const admin = new Redis(redisUrl);
  await admin.config('SET', 'notify-keyspace-events', 'E$');
  const events = admin.duplicate();
  const leases: string[] = [];
  events.on('message', (_channel: string, key: string) => {
    if (key.startsWith(`stockwatch:group:${group}:fetch:`)) leases.push(key);
  });
  await events.subscribe('__keyevent@0__:set');
  cleanups.push(() => {
    events.disconnect();
    admin.disconnect();
  });

  /** Every call each client's fake Alpha Vantage received: the symbol, and when. */
  const calls: Array<{ client: string; symbol: string; at: number }> = [];
  const servers = new Map<string, FixtureServer>();
  const metricsPorts = new Map<string, number>();

  async function client(name: string): Promise<RunningProcess> {
    const metricsPort = await freePort();
    metricsPorts.set(name, metricsPort);
    const server = await startFixtureServer((url) => {
      calls.push({ client: name, symbol: url.searchParams.get('symbol')!, at: Date.now() });
      return { file: IBM };
    });
    servers.set(name, server);
    cleanups.push(() => server.close());
    const dataDir = mkdtempSync(path.join(tmpdir(), `stockwatch-sharing-${name}-`));
    const proc = spawnStockwatch(['client'], {
      MARKET_DATA_PROVIDER: 'alphavantage',
      ALPHAVANTAGE_API_KEY: apiKey,
      ALPHAVANTAGE_BASE_URL: server.origin,
      // 120 calls a minute around the clock, no daily cap: a call every 500 ms for the whole fleet,
      // so each of the nine symbols comes round every 4.5 s.
      ALPHAVANTAGE_CALLS_PER_MINUTE: '120',
      ALPHAVANTAGE_CALLS_PER_DAY: 'unlimited',
      MARKET_HOURS: 'always',
      SYMBOLS: SYMBOLS.join(','),
      SERVER_URL: ingest.url,
      INGEST_TOKEN,
      DATA_DIR: dataDir,
      REDIS_URL: redisUrl,
      CLIENT_GROUP: group,
      CLIENT_HEARTBEAT_INTERVAL: '300ms',
      SHUTDOWN_TIMEOUT: '5s',
      METRICS_PORT: String(metricsPort),
    });
    cleanups.push(async () => {
      await proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    return proc;
  }

  /** Two clients, each fetching its own share, which between them is every symbol. */
  async function two() {
    const a = await client('a');
    await a.waitForOutput(/now fetches 9 of 9 symbols with 1 client alive/, 60_000);
    const b = await client('b');
    await eventually(() => share(a)?.members.length === 2 && share(b)?.members.length === 2, 60_000);
    const shareA = share(a)!;
    const shareB = share(b)!;
    expect(shareA.members).toEqual(shareB.members);
    expect([...shareA.owned, ...shareB.owned].sort()).toEqual([...SYMBOLS].sort());
    expect(shareA.owned).toEqual(ownedBy(shareA.id, SYMBOLS, shareA.members));
    return { a, b, shareA, shareB };
  }

  /** No two fetches of one symbol in one period: each call had a lease of its own, taken once. */
  async function expectNoSymbolFetchedTwiceInAPeriod() {
    const made = [...calls];
    // Each of those calls followed its lease; a round trip on the events connection delivers their news.
    await events.ping();
    expect(new Set(leases).size).toBe(leases.length);
    for (const symbol of SYMBOLS) {
      const fetched = made.filter((c) => c.symbol === symbol).length;
      const leased = leases.filter((k) => k.includes(`:fetch:${symbol}:`)).length;
      expect(fetched).toBeGreaterThan(0);
      expect(fetched).toBeLessThanOrEqual(leased);
    }
  }

  /** The client's own gauge of the symbols it fetches (METRICS_PORT). */
  async function ownedGauge(name: string): Promise<number | undefined> {
    const res = await fetch(`http://127.0.0.1:${metricsPorts.get(name)}/metrics`).catch(() => undefined);
    const text = res?.ok ? await res.text() : '';
    const line = /^stockwatch_client_symbols_owned (\d+)$/m.exec(text);
    return line ? Number(line[1]) : undefined;
  }

  return { client, two, calls, ingest, ownedGauge, expectNoSymbolFetchedTwiceInAPeriod };
}

describe('stockwatch client processes sharing symbols and a key through Redis', () => {
  it('a client stopped with SIGTERM leaves at once, and the other fetches its symbols from then on', async () => {
    const t = await setup();
    const { a, b, shareA, shareB } = await t.two();
    // Each fetches only its own share once both are in.
    const splitAt = Date.now();
    await eventually(
      () => SYMBOLS.every((s) => t.calls.some((c) => c.symbol === s && c.at > splitAt)),
      60_000,
    );

    // Each one's own /metrics tells its share; together, every symbol.
    await eventually(
      async () => ((await t.ownedGauge('a')) ?? 0) + ((await t.ownedGauge('b')) ?? 0) === SYMBOLS.length,
      30_000,
    );
    const stoppedAt = Date.now();
    expect(await b.kill('SIGTERM')).toBe(0);
    expect(b.output()).toMatch(/client stopped/);
    await eventually(() => share(a)?.owned.length === SYMBOLS.length, 30_000);
    expect(share(a)?.members).toEqual([shareA.id]);
    expect(a.output()).toContain(`gone: ${shareB.id}`);
    await eventually(async () => (await t.ownedGauge('a')) === SYMBOLS.length, 30_000);

    // B's symbols are fetched by A now.
    await eventually(
      () =>
        shareB.owned.every((s) =>
          t.calls.some((c) => c.client === 'a' && c.symbol === s && c.at > stoppedAt),
        ),
      60_000,
    );
    // A's status report says so too: every symbol, and A alone alive.
    await eventually(() => {
      const mine = t.ingest.statusReports.filter(
        (r: ClientStatusReport) => r.sharing?.member_id === shareA.id,
      );
      const last = mine.at(-1);
      return last?.symbols.length === SYMBOLS.length && last.sharing?.members.length === 1;
    }, 30_000);
    await t.expectNoSymbolFetchedTwiceInAPeriod();
  }, 180_000);

  it('a client killed with SIGKILL: the other takes its symbols over once its heartbeats expire, fetching none twice', async () => {
    const t = await setup();
    const { a, b, shareA, shareB } = await t.two();
    const splitAt = Date.now();
    await eventually(
      () => SYMBOLS.every((s) => t.calls.some((c) => c.symbol === s && c.at > splitAt)),
      60_000,
    );
    // While both live, each asks only for its own share.
    const settledAt = Date.now();
    await eventually(() => t.calls.filter((c) => c.at > settledAt).length >= SYMBOLS.length, 60_000);
    for (const c of t.calls.filter((x) => x.at > settledAt))
      expect(c.client === 'a' ? shareA.owned : shareB.owned).toContain(c.symbol);

    await b.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(() => share(a)?.owned.length === SYMBOLS.length, 30_000);
    expect(a.output()).toContain(`gone: ${shareB.id}`);
    await eventually(
      () =>
        shareB.owned.every((s) => t.calls.some((c) => c.client === 'a' && c.symbol === s && c.at > killedAt)),
      60_000,
    );
    await t.expectNoSymbolFetchedTwiceInAPeriod();
  }, 180_000);
});
