import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import {
  type AlphaVantageProvider,
  createAlphaVantageProvider,
} from '../src/market-data/alphavantage/provider.ts';
import { createRedisQuota } from '../src/market-data/alphavantage/quota-redis.ts';
import { createMarketDataClient, type RejectedBar } from '../src/market-data/client.ts';
import { createSimulatorProvider } from '../src/market-data/providers/simulator.ts';
import { createServerApi } from '../src/market-data/server-api.ts';
import { createRedisFetchLeases } from '../src/market-data/sharing/leases.ts';
import { createFleetMembership, type FleetMembership } from '../src/market-data/sharing/membership.ts';
import { createRedisProgress } from '../src/market-data/sharing/progress.ts';
import { ownedBy, ownerOf } from '../src/market-data/sharing/rendezvous.ts';
import { openSpool } from '../src/market-data/spool.ts';
import { startFakeIngestServer } from '../src/market-data/test-helpers.ts';
import type { Bar } from '../src/market-data/types.ts';
import { type FixtureServer, startFixtureServer } from './fixtures-server.ts';
import { eventually, startPrivateRedis } from './helpers/process.ts';

/**
 * Clients sharing symbols and one Alpha Vantage key through a real Redis: how the symbols are split,
 * that every symbol is fetched exactly once per period by exactly one client while clients come and go,
 * and that the key's quota holds for all of them together. Every test uses keys of its own (a group and
 * an API key made up for it), so tests running side by side on the same Redis never meet.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const IBM = 'intraday-1min-IBM-2025-03-07-est.json';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function connect(): Redis {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  return redis;
}

const quietLog = { info() {}, warn() {}, error() {}, debug() {} };

/** Keys of this test only, removed after it: the shared Redis keeps nothing of the run. */
function testPrefix(): string {
  const prefix = `stockwatch:test:${randomUUID()}:`;
  cleanups.push(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return prefix;
}

describe('configuration', () => {
  it('shares with a 5 s heartbeat in the default group, and says which setting is wrong', () => {
    expect(loadConfig({}).clientSharing).toEqual({ group: 'default', heartbeatMs: 5000 });
    expect(loadConfig({ CLIENT_GROUP: 'eu-1', CLIENT_HEARTBEAT_INTERVAL: '500ms' }).clientSharing).toEqual({
      group: 'eu-1',
      heartbeatMs: 500,
    });
    expect(() => loadConfig({ CLIENT_HEARTBEAT_INTERVAL: '50ms' })).toThrow(
      "Invalid configuration: CLIENT_HEARTBEAT_INTERVAL: expected between 100ms and 10m (got '50ms')",
    );
    expect(() => loadConfig({ CLIENT_GROUP: 'a b' })).toThrow(/CLIENT_GROUP: expected 1-50 of/);
  });
});

describe('splitting symbols by rendezvous hashing', () => {
  const symbols = Array.from({ length: 2000 }, (_, i) => `S${i}`);
  const memberIds = fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{2,30}$/), {
    minLength: 1,
    maxLength: 8,
  });

  it('gives every symbol to exactly one alive client, and each about its fair share', () => {
    fc.assert(
      fc.property(memberIds, (members) => {
        const shares = members.map((m) => ownedBy(m, symbols, members));
        expect(shares.flat().sort()).toEqual([...symbols].sort());
        // Within 35% of the fair share: more than five standard deviations of a fair coin's spread here.
        const fair = symbols.length / members.length;
        for (const share of shares) {
          expect(share.length).toBeGreaterThan(fair * 0.65);
          expect(share.length).toBeLessThan(fair * 1.35);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('moves only what must move when a client joins or leaves', () => {
    fc.assert(
      fc.property(memberIds, fc.stringMatching(/^[A-Z][a-z0-9-]{2,20}$/), (members, newcomer) => {
        const joined = [...members, newcomer];
        for (const symbol of symbols) {
          const before = ownerOf(symbol, members);
          const after = ownerOf(symbol, joined);
          // A symbol changes hands only to the newcomer.
          if (after !== before) expect(after).toBe(newcomer);
        }
        const leaving = members[0]!;
        const left = members.slice(1);
        for (const symbol of symbols) {
          const before = ownerOf(symbol, members);
          // Only the symbols of the client that left change hands.
          if (before !== leaving) expect(ownerOf(symbol, left)).toBe(before);
          else if (left.length > 0) expect(left).toContain(ownerOf(symbol, left));
        }
        // The newcomer takes about its share: n / (k+1) of the symbols, not more.
        const taken = symbols.filter((s) => ownerOf(s, joined) === newcomer).length;
        expect(taken).toBeLessThan((symbols.length / joined.length) * 1.35);
      }),
      { numRuns: 25 },
    );
  });
});

describe('the quota of one key shared through Redis', () => {
  const limitsFor = (perMinute: number, perDay: number) => ({ perMinute, perDay });

  function quotas(n: number, limits: { perMinute: number; perDay: number }) {
    const apiKey = `test-key-${randomUUID()}`;
    const prefix = testPrefix();
    const clock = { now: () => Date.now() };
    // One connection per client, as separate processes would have.
    const list = Array.from({ length: n }, () =>
      createRedisQuota({ redis: connect(), prefix, apiKey, limits, clock }),
    );
    return { apiKey, prefix, list };
  }

  it('lets N clients hammering it together make no more calls a minute than the key allows', async () => {
    const { list } = quotas(5, limitsFor(7, 1000));
    const results = await Promise.all(
      list.flatMap((quota) => Array.from({ length: 40 }, () => quota.take())),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(7);
    const refused = results.filter((r) => !r.allowed);
    expect(refused.every((r) => !r.allowed && r.reason === 'minute')).toBe(true);
    for (const quota of list) expect(await quota.remaining()).toMatchObject({ minute: 0 });
  });

  it('lets N clients together make no more calls a day than the key allows, and says when it resets', async () => {
    const { list } = quotas(4, limitsFor(1000, 9));
    const results = await Promise.all(
      list.flatMap((quota) => Array.from({ length: 25 }, () => quota.take())),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(9);
    const refusal = results.find((r) => !r.allowed);
    expect(refusal).toMatchObject({ allowed: false, reason: 'day' });
    // The next New York midnight, within the coming 24 hours.
    const retryAt = refusal && !refusal.allowed ? refusal.retryAt : 0;
    expect(retryAt).toBeGreaterThan(Date.now());
    expect(retryAt - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
    expect(await list[3]!.remaining()).toMatchObject({ day: 0 });
  });

  it('stops every client when one of them is told by the provider that the day is spent', async () => {
    const { list } = quotas(3, limitsFor(5, 25));
    expect(await list[1]!.check()).toEqual({ allowed: true });
    await list[0]!.exhaust('day');
    for (const quota of list.slice(1)) {
      expect(await quota.take()).toMatchObject({ allowed: false, reason: 'blocked' });
      expect(await quota.remaining()).toMatchObject({ minute: 0, day: 0 });
    }
  });

  it('keeps only a hash of the API key in Redis, never the key', async () => {
    const { apiKey, prefix, list } = quotas(1, limitsFor(5, 25));
    await list[0]!.take();
    await list[0]!.exhaust('minute');
    const redis = connect();
    const keys = await redis.keys(`${prefix}quota:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain(apiKey);
      expect(key).not.toContain(apiKey.slice(9));
    }
  });
});

/**
 * Three clients — each a membership in the group, an Alpha Vantage provider on the shared quota and
 * fetch leases, and a fake Alpha Vantage of its own that tells which client asked — on one schedule
 * clock that the test moves through the periods. The membership itself runs on real time.
 */
describe('three clients fetching nine symbols on one key', () => {
  const SYMBOLS = ['AAPL', 'GOOGL', 'MSFT', 'AMZN', 'META', 'NVDA', 'TSLA', 'JPM', 'V'];
  const HALF = Math.floor(SYMBOLS.length / 2);
  // 1,440 calls a day around the clock: one call a minute for the fleet, so each of the nine symbols
  // comes round every 9 minutes (of the test's schedule clock; the quota's minute window runs on Redis's).
  const PERIOD_MS = SYMBOLS.length * 60_000;

  interface TestClient {
    name: string;
    membership: FleetMembership;
    provider: AlphaVantageProvider;
    server: FixtureServer;
    redis: Redis;
  }

  async function fleet(names: string[], options: { entitlement?: 'realtime' } = {}) {
    const group = testPrefix();
    const apiKey = `test-key-${randomUUID()}`;
    // Bulk quotes move once a minute: the fleet refreshes every symbol each minute, in one call each.
    const periodMs = options.entitlement ? 60_000 : PERIOD_MS;
    // Periods are aligned on the epoch: start at the beginning of one.
    let now = Math.ceil(Date.now() / periodMs) * periodMs;
    const clock = { now: () => now };
    /** Every call any of the fake providers received: which client, which symbol, which period. */
    const calls: Array<{ client: string; symbol: string; period: number }> = [];
    const clients: TestClient[] = [];

    async function add(name: string) {
      const redis = connect();
      const server = await startFixtureServer((url) => {
        // A bulk call asks for several symbols at once: one entry each.
        for (const symbol of url.searchParams.get('symbol')!.split(','))
          calls.push({ client: name, symbol, period: Math.floor(now / periodMs) });
        return { file: options.entitlement ? 'realtime-bulk-quotes-MSFT-AAPL-NOPE.json' : IBM };
      });
      cleanups.push(() => server.close());
      const membership = createFleetMembership({
        redis,
        prefix: group,
        symbols: SYMBOLS,
        heartbeatMs: 200,
        log: quietLog,
        id: name,
      });
      const provider = createAlphaVantageProvider({
        apiKey,
        baseUrl: server.origin,
        callsPerMinute: 600,
        callsPerDay: 1440,
        marketHours: 'always',
        clock,
        log: quietLog,
        ...(options.entitlement && { entitlement: options.entitlement }),
        quota: createRedisQuota({
          redis,
          prefix: group,
          apiKey,
          limits: { perMinute: 600, perDay: 1440 },
          clock,
        }),
        sharing: {
          fleetSymbols: SYMBOLS,
          leases: createRedisFetchLeases({ redis, prefix: group, id: name }),
        },
        sleep: async () => {},
      });
      await membership.start();
      cleanups.push(() => membership.stop());
      const client = { name, membership, provider, server, redis };
      clients.push(client);
      return client;
    }

    for (const name of names) await add(name);
    const alive = () => clients.filter((c) => c.redis.status === 'ready');

    /** Everyone sees the same `expected` members. */
    async function settled(expected: string[]) {
      await eventually(async () => {
        for (const c of clients) if (c.redis.status === 'ready') await c.membership.heartbeat();
        return clients
          .filter((c) => c.redis.status === 'ready' && expected.includes(c.name))
          .every((c) => c.membership.members().join() === [...expected].sort().join());
      }, 10_000);
    }

    /** Runs each live client as its loop would until nothing is due, at each symbol's turn of the period. */
    async function runPeriod(only: TestClient[] = alive()) {
      const start = Math.floor(now / periodMs) * periodMs;
      for (let turn = 0; turn < SYMBOLS.length; turn++) {
        now = start + (turn * periodMs) / SYMBOLS.length;
        await runTurn(only);
      }
      now = start + periodMs;
    }

    async function runTurn(only: TestClient[]) {
      for (const c of only) {
        // As the client's loop: a round, then more while the provider says something is due now.
        let rounds = 0;
        do await c.provider.poll(c.membership.owned());
        while (c.provider.nextPollDelayMs() === 0 && ++rounds < 10);
      }
    }

    return {
      clients,
      calls,
      add,
      settled,
      runPeriod,
      runTurn,
      period: () => Math.floor(now / periodMs),
      setNow: (at: number) => (now = at),
      now: () => now,
    };
  }

  /** Per period, how many calls each symbol got. */
  function countsByPeriod(calls: Array<{ symbol: string; period: number }>, from: number, to: number) {
    const counts: Record<number, Record<string, number>> = {};
    for (let p = from; p < to; p++) counts[p] = {};
    for (const { symbol, period } of calls)
      if (period >= from && period < to) counts[period]![symbol] = (counts[period]![symbol] ?? 0) + 1;
    return counts;
  }
  const oncePerSymbol = Object.fromEntries(SYMBOLS.map((s) => [s, 1]));

  it('fetch each symbol exactly once per period, each by the client that owns it', async () => {
    const f = await fleet(['client-a', 'client-b', 'client-c']);
    await f.settled(['client-a', 'client-b', 'client-c']);
    const owners = Object.fromEntries(f.clients.flatMap((c) => c.membership.owned().map((s) => [s, c.name])));
    expect(Object.keys(owners).sort()).toEqual([...SYMBOLS].sort());
    const first = f.period();
    for (let i = 0; i < 4; i++) await f.runPeriod();

    const counts = countsByPeriod(f.calls, first, first + 4);
    for (let p = first; p < first + 4; p++) expect(counts[p]).toEqual(oncePerSymbol);
    for (const call of f.calls) expect(call.client).toBe(owners[call.symbol]);
  });

  it('a client that leaves cleanly: its symbols are fetched by the others from the next period, still once each', async () => {
    const f = await fleet(['client-a', 'client-b', 'client-c']);
    await f.settled(['client-a', 'client-b', 'client-c']);
    const [a, b, c] = f.clients as [TestClient, TestClient, TestClient];
    const hadC = [...c.membership.owned()];
    expect(hadC.length).toBeGreaterThan(0);
    const first = f.period();
    await f.runPeriod();

    await c.membership.stop();
    // No heartbeat needed: the others hear of the departure on the change channel.
    await eventually(
      () => a.membership.members().length === 2 && b.membership.members().length === 2,
      10_000,
    );
    const leftAt = f.period();
    await f.runPeriod([a, b]);
    await f.runPeriod([a, b]);

    const counts = countsByPeriod(f.calls, first, leftAt + 2);
    for (let p = first; p < leftAt + 2; p++) expect(counts[p]).toEqual(oncePerSymbol);
    const takenOver = f.calls.filter((x) => x.period >= leftAt && hadC.includes(x.symbol));
    expect(takenOver.length).toBe(hadC.length * 2);
    for (const x of takenOver) expect(['client-a', 'client-b']).toContain(x.client);
  });

  it('a client that dies mid-period: the others take its symbols over once it is forgotten, and fetch in that very period only what it had not', async () => {
    const f = await fleet(['client-a', 'client-b', 'client-c']);
    await f.settled(['client-a', 'client-b', 'client-c']);
    const [a, b, c] = f.clients as [TestClient, TestClient, TestClient];
    const hadC = [...c.membership.owned()];
    const start = f.period() * PERIOD_MS;

    // Half the period goes by as usual, then C's process dies: no goodbye, its heartbeats just stop.
    for (let turn = 0; turn < HALF; turn++) {
      f.setNow(start + (turn * PERIOD_MS) / SYMBOLS.length);
      await f.runTurn(f.clients);
    }
    c.redis.disconnect();
    const fetchedByC = f.calls.filter((x) => x.client === 'client-c').map((x) => x.symbol);

    // A and B keep fetching their own while C is not yet forgotten (three heartbeats).
    await eventually(async () => {
      await f.runTurn([a, b]);
      return a.membership.members().length === 2 && b.membership.members().length === 2;
    }, 10_000);
    expect(a.membership.members()).toEqual(['client-a', 'client-b']);

    // Still in the same period: what C had not fetched yet is fetched now, what it had is not again.
    await f.runTurn([a, b]);
    const period = f.period();
    for (let turn = HALF; turn < SYMBOLS.length; turn++) {
      f.setNow(start + (turn * PERIOD_MS) / SYMBOLS.length);
      await f.runTurn([a, b]);
    }
    f.setNow(start + PERIOD_MS);
    await f.runPeriod([a, b]);

    const counts = countsByPeriod(f.calls, period, period + 2);
    expect(counts[period]).toEqual(oncePerSymbol);
    expect(counts[period + 1]).toEqual(oncePerSymbol);
    const byOthers = f.calls.filter((x) => x.client !== 'client-c' && hadC.includes(x.symbol));
    expect(byOthers.map((x) => x.symbol).sort()).toEqual(
      [...hadC.filter((s) => !fetchedByC.includes(s)), ...hadC].sort(),
    );
  });

  it('a client joining takes its share over and nobody fetches a symbol twice in the period it joins', async () => {
    const f = await fleet(['client-a', 'client-b']);
    await f.settled(['client-a', 'client-b']);
    const start = f.period() * PERIOD_MS;
    for (let turn = 0; turn < SYMBOLS.length - 1; turn++) {
      f.setNow(start + (turn * PERIOD_MS) / SYMBOLS.length);
      await f.runTurn(f.clients);
    }
    const c = await f.add('client-c');
    await f.settled(['client-a', 'client-b', 'client-c']);
    expect(c.membership.owned().length).toBeGreaterThan(0);
    f.setNow(start + ((SYMBOLS.length - 1) * PERIOD_MS) / SYMBOLS.length);
    await f.runTurn(f.clients);
    f.setNow(start + PERIOD_MS);
    await f.runPeriod();

    const period = Math.floor(start / PERIOD_MS);
    const counts = countsByPeriod(f.calls, period, period + 2);
    expect(counts[period]).toEqual(oncePerSymbol);
    expect(counts[period + 1]).toEqual(oncePerSymbol);
    const cNext = f.calls.filter((x) => x.client === 'client-c' && x.period === period + 1);
    expect(cNext.map((x) => x.symbol).sort()).toEqual([...c.membership.owned()].sort());
  });

  it('with bulk quotes, each client asks for its own share in one call per period', async () => {
    const f = await fleet(['client-a', 'client-b', 'client-c'], { entitlement: 'realtime' });
    await f.settled(['client-a', 'client-b', 'client-c']);
    const period = f.period();
    await f.runPeriod();
    expect(countsByPeriod(f.calls, period, period + 1)[period]).toEqual(oncePerSymbol);
    for (const c of f.clients) {
      expect(c.server.requests).toHaveLength(1);
      expect(c.server.requests[0]!.searchParams.get('symbol')!.split(',').sort()).toEqual(
        [...c.membership.owned()].sort(),
      );
    }
  });

  it('a day spent by one client, as the provider says, stops the calls of the others', async () => {
    const f = await fleet(['client-a', 'client-b']);
    await f.settled(['client-a', 'client-b']);
    const [a, b] = f.clients as [TestClient, TestClient];
    a.server.handle(() => ({ file: 'rate-limit-daily-information.json' }));
    await f.runPeriod([a]);
    const before = b.server.requests.length;
    expect(a.server.requests.length).toBeGreaterThan(0);
    await f.runPeriod([b]);
    await f.runPeriod([b]);
    expect(b.server.requests.length).toBe(before);
    const quota = (await b.provider.status()).quota;
    expect(quota).toMatchObject({ callsLeftToday: 0, callsLeftThisMinute: 0 });
    expect(quota?.blockedUntil).not.toBeNull();
  });
});

describe('a symbol taken over', () => {
  /** A client that owns IBM alone, on the Alpha Vantage fixtures, at `at`; `shared` decides whether it reads where the others got to. */
  async function clientOwningIbm(at: string, group: string, shared: boolean) {
    const redis = connect();
    const fixtures = await startFixtureServer(() => ({ file: IBM }));
    const ingest = await startFakeIngestServer();
    const dir = await mkdtemp(path.join(tmpdir(), 'stockwatch-takeover-'));
    cleanups.push(async () => {
      await fixtures.close();
      await ingest.close();
      await rm(dir, { recursive: true, force: true });
    });
    const now = Date.parse(at);
    const provider = createAlphaVantageProvider({
      apiKey: `test-key-${randomUUID()}`,
      baseUrl: fixtures.origin,
      callsPerMinute: 5,
      callsPerDay: 25,
      marketHours: 'always',
      clock: { now: () => now },
      log: quietLog,
      sleep: async () => {},
    });
    const client = createMarketDataClient({
      provider,
      symbols: ['IBM', 'MSFT'],
      server: createServerApi({ serverUrl: ingest.url, ingestToken: 'takeover-ingest-token-0123456789' }),
      spool: await openSpool<Bar>(dir),
      rejected: await openSpool<RejectedBar>(dir, { fileName: 'rejected.jsonl' }),
      log: quietLog,
      now: () => now,
      ownership: { id: 'x', members: () => ['x'], owned: () => ['IBM'], onChange() {} },
      ...(shared && { sharedProgress: createRedisProgress({ redis, prefix: group }) }),
    });
    return { client, fixtures, ingest };
  }

  it('is fetched from the newest bar its previous owner had, so the gap since is asked for in full', async () => {
    const group = testPrefix();
    // Friday evening the first owner fetches IBM: its bars up to 16:00 New York time.
    const first = await clientOwningIbm('2025-03-07T21:05:00Z', group, true);
    expect(await first.client.runOnce()).toMatchObject({ fetched: 100, sent: 100 });

    // Monday afternoon another client has IBM now: the gap since Friday's last bar is hours of session.
    const next = await clientOwningIbm('2025-03-10T18:00:00Z', group, true);
    const report = await next.client.runOnce();
    expect(next.fixtures.requests[0]?.searchParams.get('outputsize')).toBe('full');
    // Nothing it got was newer than what the first owner sent: nothing goes out twice.
    expect(report).toMatchObject({ fetched: 0, sent: 0 });

    // Without the shared progress it would have asked for the latest 100 bars only, and sent them again.
    const blind = await clientOwningIbm('2025-03-10T18:00:00Z', group, false);
    expect(await blind.client.runOnce()).toMatchObject({ fetched: 100 });
    expect(blind.fixtures.requests[0]?.searchParams.get('outputsize')).toBe('compact');
  });
});

describe('a simulated symbol taken over', () => {
  it('continues the previous owner’s walk from its last price, without a day of backfill of its own', async () => {
    const group = testPrefix();
    const redis = connect();
    const ingest = await startFakeIngestServer();
    cleanups.push(() => ingest.close());
    let now = Date.parse('2025-03-10T15:00:00Z');
    async function simulated(seed: number, shared: boolean) {
      const dir = await mkdtemp(path.join(tmpdir(), 'stockwatch-sim-takeover-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return createMarketDataClient({
        provider: createSimulatorProvider({ seed, intervalMs: 1000, clock: { now: () => new Date(now) } }),
        symbols: ['AAPL', 'MSFT'],
        server: createServerApi({ serverUrl: ingest.url, ingestToken: 'takeover-ingest-token-0123456789' }),
        spool: await openSpool<Bar>(dir),
        rejected: await openSpool<RejectedBar>(dir, { fileName: 'rejected.jsonl' }),
        log: quietLog,
        now: () => now,
        ownership: { id: `sim-${seed}`, members: () => [], owned: () => ['AAPL'], onChange() {} },
        ...(shared && { sharedProgress: createRedisProgress({ redis, prefix: group }) }),
      });
    }

    await (await simulated(1, true)).runOnce();
    const last = ingest.stored.at(-1)!;
    now += 60_000;
    const report = await (await simulated(2, true)).runOnce();
    expect(report).toMatchObject({ fetched: 1, sent: 1 });
    expect(ingest.stored.at(-1)).toMatchObject({ symbol: 'AAPL', open: last.price });

    // On its own, a client starts a walk of its own, with a day of history first.
    now += 60_000;
    expect((await (await simulated(3, false)).runOnce()).fetched).toBeGreaterThan(1000);
  });
});

describe('Redis going away', () => {
  it('stops the calls (none could be counted), says why, and lets them resume when Redis is back', async () => {
    const privateRedis = await startPrivateRedis();
    cleanups.push(() => privateRedis.stop());
    const redis = new Redis(privateRedis.url, { maxRetriesPerRequest: 1, commandTimeout: 1000 });
    redis.on('error', () => {});
    cleanups.push(() => redis.disconnect());
    const fixtures = await startFixtureServer(() => ({ file: IBM }));
    cleanups.push(() => fixtures.close());
    const symbols = ['IBM', 'MSFT'];
    const apiKey = `test-key-${randomUUID()}`;
    // Two calls a minute for two symbols: a period of two minutes on the test's clock.
    let now = Math.ceil(Date.now() / 120_000) * 120_000;
    const clock = { now: () => now };
    const membership = createFleetMembership({
      redis,
      prefix: 'stockwatch:group:test:',
      symbols,
      heartbeatMs: 200,
      log: quietLog,
    });
    await membership.start();
    cleanups.push(() => membership.stop());
    const provider = createAlphaVantageProvider({
      apiKey,
      baseUrl: fixtures.origin,
      callsPerMinute: 2,
      callsPerDay: 2880,
      marketHours: 'always',
      clock,
      log: quietLog,
      quota: createRedisQuota({
        redis,
        prefix: 'stockwatch:',
        apiKey,
        limits: { perMinute: 2, perDay: 2880 },
        clock,
      }),
      sharing: {
        fleetSymbols: symbols,
        leases: createRedisFetchLeases({ redis, prefix: 'stockwatch:group:test:', id: membership.id }),
      },
      sleep: async () => {},
    });
    expect(membership.owned()).toEqual(symbols);
    await provider.poll(membership.owned());
    expect(fixtures.requests).toHaveLength(1);

    await privateRedis.stop();
    now += 60_000;
    await provider.poll(symbols);
    expect(fixtures.requests).toHaveLength(1);
    expect((await provider.status()).problem).toMatch(/Redis did not answer/);
    // Out of touch for three heartbeats: the others may have its symbols by now, so it claims none.
    await eventually(() => membership.owned().length === 0, 10_000);

    await privateRedis.restart();
    await eventually(() => membership.owned().length === 2, 20_000);
    now += 10_000;
    await provider.poll(membership.owned());
    expect(fixtures.requests).toHaveLength(2);
    expect((await provider.status()).problem).toBeUndefined();
  });
});
