import { afterEach, describe, expect, it } from 'vitest';
import {
  type FixtureHandler,
  type FixtureServer,
  startFixtureServer,
} from '../../../test/fixtures-server.ts';
import { isOpen, marketDate } from '../market-hours.ts';
import type { Bar } from '../types.ts';
import {
  type AlphaVantageProviderOptions,
  createAlphaVantageProvider,
  type ProviderLog,
} from './provider.ts';

// Every test talks to a real HTTP server serving the shared fixtures and counts the calls it receives.

const IBM = 'intraday-1min-IBM-2025-03-07-est.json';
const HOUR = 3_600_000;

let server: FixtureServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

async function setup(
  handler: FixtureHandler,
  options: Partial<AlphaVantageProviderOptions> & { at: string },
) {
  server = await startFixtureServer(handler);
  let now = Date.parse(options.at);
  const clock = { now: () => now };
  const logs: LogEntry[] = [];
  const entry = (level: LogEntry['level']) => (fields: object, message: string) => {
    logs.push({ level, fields, message });
  };
  const log: ProviderLog = { info: entry('info'), warn: entry('warn'), error: entry('error') };
  const sleeps: number[] = [];
  const provider = createAlphaVantageProvider({
    apiKey: 'test-key',
    baseUrl: server.origin,
    callsPerMinute: 5,
    callsPerDay: 25,
    marketHours: 'always',
    clock,
    log,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  const requests = server.requests;
  const { handle } = server;
  return {
    handle,
    provider,
    logs,
    sleeps,
    requests,
    now: () => now,
    setNow: (at: string | number) => {
      now = typeof at === 'string' ? Date.parse(at) : at;
    },
    /** Sleeps as the client loop would: for the delay the provider asks for. */
    waitAsAsked: () => {
      now += provider.nextPollDelayMs();
    },
    param: (i: number, name: string) => requests[i]?.searchParams.get(name),
  };
}

function intradayBody(symbol: string, localTimes: string[]) {
  const bar = {
    '1. open': '10.0',
    '2. high': '11.0',
    '3. low': '9.5',
    '4. close': '10.5',
    '5. volume': '100',
  };
  return {
    'Meta Data': { '2. Symbol': symbol, '4. Interval': '1min', '6. Time Zone': 'US/Eastern' },
    'Time Series (1min)': Object.fromEntries([...localTimes].reverse().map((t) => [t, bar])),
  };
}

describe('TIME_SERIES_INTRADAY', () => {
  it('asks for compact one-minute bars and returns each bar once', async () => {
    const t = await setup(() => ({ file: IBM }), { at: '2025-03-07T21:01:00Z', callsPerDay: 1000 });
    const bars = await t.provider.poll(['IBM']);
    expect(t.requests).toHaveLength(1);
    expect(t.requests[0]!.pathname).toBe('/query');
    expect(Object.fromEntries(t.requests[0]!.searchParams)).toEqual({
      function: 'TIME_SERIES_INTRADAY',
      symbol: 'IBM',
      interval: '1min',
      outputsize: 'compact',
      apikey: 'test-key',
    });
    expect(bars).toHaveLength(100);
    expect(bars[0]!.timestamp).toBe('2025-03-07T19:21:00.000Z');
    expect(bars.at(-1)).toMatchObject({
      symbol: 'IBM',
      timestamp: '2025-03-07T21:00:00.000Z',
      price: 264.8979,
    });

    t.waitAsAsked();
    expect(await t.provider.poll(['IBM'])).toEqual([]);
    expect(t.requests).toHaveLength(2);
    // The data stays at hand for when the provider is down.
    expect(t.provider.lastFetched('IBM')).toMatchObject({ fetchedAt: new Date(t.now()).toISOString() });
    expect(t.provider.lastFetched('IBM')?.bars.at(-1)?.price).toBe(264.8979);
  });

  it('fills a gap of several hours with outputsize=full', async () => {
    const t = await setup(() => ({ file: IBM }), { at: '2025-03-07T21:01:00Z', callsPerDay: 1000 });
    await t.provider.poll(['IBM']);
    // 100 minutes after the last bar (16:00 EST) compact still covers the gap.
    t.setNow('2025-03-07T22:40:00Z');
    await t.provider.poll(['IBM']);
    expect(t.param(1, 'outputsize')).toBe('compact');

    t.handle(() => ({
      json: intradayBody('IBM', [
        '2025-03-07 15:59:00',
        '2025-03-07 16:00:00',
        '2025-03-07 19:59:00',
        '2025-03-10 04:00:00',
        '2025-03-10 12:59:00',
      ]),
    }));
    t.setNow('2025-03-10T17:00:00Z'); // Monday 13:00 EDT: 4 h Friday evening + 9 h Monday morning missing
    const bars = await t.provider.poll(['IBM']);
    expect(t.requests[2]!.search).toContain('outputsize=full');
    expect(bars.map((b: Bar) => b.timestamp)).toEqual([
      '2025-03-08T00:59:00.000Z',
      '2025-03-10T08:00:00.000Z',
      '2025-03-10T16:59:00.000Z',
    ]);

    t.waitAsAsked();
    await t.provider.poll(['IBM']);
    expect(t.param(3, 'outputsize')).toBe('compact');
  });

  it('stops asking for a symbol the provider rejects, and says so once', async () => {
    const t = await setup(
      (url) => ({ file: url.searchParams.get('symbol') === 'NOPE' ? 'error-invalid-call.json' : IBM }),
      { at: '2025-03-10T15:00:00Z', callsPerDay: 1000 },
    );
    for (let i = 0; i < 6; i++) {
      await t.provider.poll(['IBM', 'NOPE']);
      t.waitAsAsked();
    }
    const asked = t.requests.map((r) => r.searchParams.get('symbol'));
    expect(asked.filter((s) => s === 'NOPE')).toHaveLength(1);
    expect(asked.filter((s) => s === 'IBM')).toHaveLength(5);
    const errors = t.logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/'NOPE'.*Invalid API call.*until restart/);
  });
});

describe('rate limits', () => {
  it('after the daily message, makes no call before New York midnight', async () => {
    const times: number[] = [];
    const t = await setup(
      () => {
        times.push(t.now());
        return { file: 'rate-limit-daily-information.json' };
      },
      { at: '2025-03-10T15:00:00Z' },
    );
    const symbols = ['IBM', 'MSFT', 'AAPL'];
    expect(await t.provider.poll(symbols)).toEqual([]);
    expect(t.requests).toHaveLength(1);
    expect(t.logs.filter((l) => l.level === 'warn')).toHaveLength(1);

    let polls = 0;
    while (t.requests.length < 2 && polls < 1_000) {
      t.waitAsAsked();
      await t.provider.poll(symbols);
      polls++;
    }
    // Midnight EDT after Monday 10 March is 04:00 UTC on the 11th.
    expect(times[1]).toBeGreaterThanOrEqual(Date.parse('2025-03-11T04:00:00Z'));
    expect(times[1]).toBeLessThan(Date.parse('2025-03-11T04:02:00Z'));
    // The client loop was not left spinning: it slept an hour at a time.
    expect(polls).toBeLessThanOrEqual(15);
  });

  it('after the older per-minute note, waits a minute; after two in a row, waits for the day', async () => {
    // A high daily cap keeps the spacing (12 s) shorter than the minute wait under test.
    const t = await setup((_url, i) => ({ file: i === 1 ? IBM : 'rate-limit-legacy-note.json' }), {
      at: '2025-03-10T15:00:00Z',
      callsPerDay: 100_000,
    });
    await t.provider.poll(['IBM']);
    t.setNow(t.now() + 30_000);
    await t.provider.poll(['IBM']);
    expect(t.requests).toHaveLength(1);
    expect(t.provider.nextPollDelayMs()).toBeGreaterThanOrEqual(30_000);
    expect(t.provider.nextPollDelayMs()).toBeLessThanOrEqual(40_000);

    t.waitAsAsked();
    expect(await t.provider.poll(['IBM'])).toHaveLength(100);
    expect(t.requests).toHaveLength(2);

    // Two notes in a row: the day is spent whatever the note says.
    for (let i = 0; i < 2; i++) {
      t.waitAsAsked();
      await t.provider.poll(['IBM']);
    }
    expect(t.requests).toHaveLength(4);
    while (t.now() < Date.parse('2025-03-11T04:00:00Z')) {
      t.waitAsAsked();
      await t.provider.poll(['IBM']);
      if (t.now() < Date.parse('2025-03-11T04:00:00Z')) expect(t.requests).toHaveLength(4);
    }
  });

  it('never exceeds 5 calls a minute or 25 a New York day, and spends the day evenly in regular hours', async () => {
    const calls: { at: number; symbol: string }[] = [];
    const t = await setup(
      (url) => {
        calls.push({ at: t.now(), symbol: url.searchParams.get('symbol') ?? '' });
        return { file: IBM };
      },
      { at: '2025-03-07T05:00:00Z', marketHours: 'regular' }, // Friday 00:00 EST
    );
    const symbols = Array.from({ length: 10 }, (_, i) => `S${i}`);
    let polls = 0;
    // Friday to Tuesday 00:00 EDT: a weekend and the switch to summer time.
    while (t.now() < Date.parse('2025-03-11T04:00:00Z') && polls < 10_000) {
      await t.provider.poll(symbols);
      t.waitAsAsked();
      polls++;
    }
    const perDay = new Map<string, number>();
    for (const { at } of calls) perDay.set(marketDate(at), (perDay.get(marketDate(at)) ?? 0) + 1);
    expect(Object.fromEntries(perDay)).toEqual({ '2025-03-07': 25, '2025-03-10': 25 });
    expect(calls.every(({ at }) => isOpen(at, 'regular'))).toBe(true);
    for (let i = 5; i < calls.length; i++)
      expect(calls[i]!.at - calls[i - 5]!.at).toBeGreaterThanOrEqual(60_000);
    // Round-robin carries over from Friday, so every symbol had its 5 calls of the 50.
    const perSymbol = new Map<string, number>();
    for (const { symbol } of calls) perSymbol.set(symbol, (perSymbol.get(symbol) ?? 0) + 1);
    expect([...perSymbol.values()]).toEqual(Array(10).fill(5));
    // 6 h 30 min / 25 calls × 10 symbols = 156 minutes between two calls for one symbol.
    const monday = calls.filter((c) => marketDate(c.at) === '2025-03-10');
    const first = monday[0]!.symbol;
    expect(first).toBe('S5');
    expect(monday.filter((c) => c.symbol === first).map((c) => new Date(c.at).toISOString())).toEqual([
      '2025-03-10T13:30:00.000Z',
      '2025-03-10T16:06:00.000Z',
      '2025-03-10T18:42:00.000Z',
    ]);
  });

  it('around the clock, spaces calls 57.6 min apart so no day gets more than 25', async () => {
    const calls: number[] = [];
    const t = await setup(
      () => {
        calls.push(t.now());
        return { file: IBM };
      },
      { at: '2025-03-08T05:00:00Z' }, // Saturday 00:00 EST; Sunday has 23 hours
    );
    while (t.now() < Date.parse('2025-03-11T04:00:00Z')) {
      await t.provider.poll(['IBM', 'MSFT']);
      t.waitAsAsked();
    }
    const perDay = new Map<string, number>();
    for (const at of calls) perDay.set(marketDate(at), (perDay.get(marketDate(at)) ?? 0) + 1);
    expect([...perDay.values()].every((n) => n <= 25)).toBe(true);
    expect(perDay.get('2025-03-08')).toBe(25);
    expect(calls[1]! - calls[0]!).toBe(57.6 * 60_000);
  });
});

describe('configuration errors', () => {
  it('a premium endpoint with a free key: one call, one clear error, then silence', async () => {
    const t = await setup(() => ({ file: 'premium-endpoint-information.json' }), {
      at: '2025-03-10T15:00:00Z',
      entitlement: 'realtime',
    });
    for (let i = 0; i < 10; i++) {
      expect(await t.provider.poll(['MSFT', 'AAPL'])).toEqual([]);
      t.waitAsAsked();
    }
    expect(t.requests).toHaveLength(1);
    expect(t.param(0, 'function')).toBe('REALTIME_BULK_QUOTES');
    expect(t.provider.configurationError()?.kind).toBe('premium');
    // Stopped: the client loop is told to come back in an hour, not to spin.
    expect(t.provider.nextPollDelayMs()).toBe(HOUR);
    const errors = t.logs.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/needs a premium Alpha Vantage key.*stopped until restart/);
  });

  it('the demo key: one call, one clear error, then silence', async () => {
    const t = await setup(() => ({ file: 'demo-key-information.json' }), {
      at: '2025-03-10T15:00:00Z',
      apiKey: 'demo',
    });
    for (let i = 0; i < 10; i++) {
      await t.provider.poll(['MSFT']);
      t.waitAsAsked();
    }
    expect(t.requests).toHaveLength(1);
    expect(t.param(0, 'apikey')).toBe('demo');
    expect(t.provider.configurationError()?.kind).toBe('demo_key');
    expect(t.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringMatching(/'demo' API key/),
    ]);
  });
});

describe('transient failures', () => {
  it('retries a 5xx with growing, jittered backoff and returns the data', async () => {
    const t = await setup((_url, i) => (i < 2 ? { status: 503 } : { file: IBM }), {
      at: '2025-03-10T15:00:00Z',
    });
    expect(await t.provider.poll(['IBM'])).toHaveLength(100);
    expect(t.requests).toHaveLength(3);
    // 1 s then 2 s, each times the jitter factor 0.5 + random/2 = 0.75.
    expect(t.sleeps).toEqual([750, 1500]);
  });

  it('gives up after 3 attempts, and tries again only at the next scheduled call', async () => {
    const t = await setup(() => ({ status: 502, body: '<html>Bad gateway</html>' }), {
      at: '2025-03-10T15:00:00Z',
    });
    expect(await t.provider.poll(['IBM'])).toEqual([]);
    expect(t.requests).toHaveLength(3);
    expect(t.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      expect.stringMatching(/unavailable for TIME_SERIES_INTRADAY IBM: HTTP 502 \(3 attempts\)/),
    ]);
    await t.provider.poll(['IBM']);
    expect(t.requests).toHaveLength(3);
    t.waitAsAsked();
    await t.provider.poll(['IBM']);
    expect(t.requests).toHaveLength(6);
  });

  it('counts retries against the quota', async () => {
    const t = await setup(() => ({ status: 500 }), { at: '2025-03-10T15:00:00Z', callsPerMinute: 2 });
    await t.provider.poll(['IBM']);
    expect(t.requests).toHaveLength(2);
    expect(t.logs.at(-1)?.message).toMatch(/\(2 attempts\)/);
  });

  it('times out a call that never answers, 3 times', async () => {
    const t = await setup(() => ({ hang: true }), { at: '2025-03-10T15:00:00Z', timeoutMs: 100 });
    expect(await t.provider.poll(['IBM'])).toEqual([]);
    expect(t.requests).toHaveLength(3);
    expect(t.logs.at(-1)?.message).toMatch(/no answer within 100 ms/);
  });

  it('retries a dropped connection 3 times', async () => {
    const t = await setup(() => ({ destroy: true }), { at: '2025-03-10T15:00:00Z' });
    expect(await t.provider.poll(['IBM'])).toEqual([]);
    expect(t.requests).toHaveLength(3);
  });

  it('does not retry a 4xx', async () => {
    const t = await setup(() => ({ status: 404 }), { at: '2025-03-10T15:00:00Z' });
    await t.provider.poll(['IBM']);
    expect(t.requests).toHaveLength(1);
    expect(t.logs.at(-1)?.message).toMatch(/HTTP 404/);
  });

  it("stops at once when the caller's signal aborts", async () => {
    const t = await setup(() => ({ hang: true }), { at: '2025-03-10T15:00:00Z' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    await expect(t.provider.poll(['IBM'], controller.signal)).rejects.toThrow('shutting down');
    expect(t.requests).toHaveLength(1);
  });
});

describe('fetchOnce (client --once)', () => {
  it('asks for every symbol whatever the hour, waiting out the minute window', async () => {
    const times: number[] = [];
    const t = await setup(
      () => {
        times.push(t.now());
        return { file: IBM };
      },
      {
        at: '2025-03-08T15:00:00Z', // Saturday: poll() would do nothing
        marketHours: 'regular',
        sleep: async (ms) => {
          t.setNow(t.now() + ms);
        },
      },
    );
    const symbols = ['A', 'B', 'C', 'D', 'E', 'F', 'G'];
    expect(await t.provider.poll(symbols)).toEqual([]);
    expect(t.requests).toHaveLength(0);
    const bars = await t.provider.fetchOnce(symbols);
    expect(t.requests.map((r) => r.searchParams.get('symbol'))).toEqual(symbols);
    expect(new Set(bars.map((b) => b.symbol))).toEqual(new Set(symbols));
    expect(bars).toHaveLength(700);
    expect(times[5]! - times[0]!).toBeGreaterThanOrEqual(60_000);
  });

  it('stops where the daily quota ends', async () => {
    const t = await setup(() => ({ file: IBM }), { at: '2025-03-10T15:00:00Z', callsPerDay: 3 });
    await t.provider.fetchOnce(['A', 'B', 'C', 'D', 'E']);
    expect(t.requests).toHaveLength(3);
    expect(t.logs.at(-1)?.message).toMatch(/quota spent until 2025-03-11T04:00:00.000Z; skipped D and after/);
  });
});

describe('REALTIME_BULK_QUOTES', () => {
  it('asks for up to 100 symbols at once and drops the ones the provider does not know', async () => {
    const t = await setup(() => ({ file: 'realtime-bulk-quotes-MSFT-AAPL-NOPE.json' }), {
      at: '2025-03-10T15:00:00Z',
      entitlement: 'delayed',
      callsPerDay: Number.POSITIVE_INFINITY,
    });
    const bars = await t.provider.poll(['MSFT', 'AAPL', 'NOPE']);
    expect(Object.fromEntries(t.requests[0]!.searchParams)).toEqual({
      function: 'REALTIME_BULK_QUOTES',
      symbol: 'MSFT,AAPL,NOPE',
      entitlement: 'delayed',
      apikey: 'test-key',
    });
    expect(bars.map((b) => [b.symbol, b.timestamp, b.price])).toEqual([
      ['MSFT', '2025-03-07T21:00:00.000Z', 384.03],
      ['AAPL', '2025-03-07T21:00:00.000Z', 239.07],
    ]);
    expect(t.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      expect.stringMatching(/'NOPE'/),
    ]);
    expect(t.provider.nextPollDelayMs()).toBe(60_000);
    t.waitAsAsked();
    expect(await t.provider.poll(['MSFT', 'AAPL', 'NOPE'])).toEqual([]);
    expect(t.param(1, 'symbol')).toBe('MSFT,AAPL');
  });

  it('splits 150 symbols into calls of 100 and 50', async () => {
    const t = await setup(() => ({ json: { endpoint: 'Realtime Bulk Quotes', message: '', data: [] } }), {
      at: '2025-03-10T15:00:00Z',
      entitlement: 'realtime',
      callsPerDay: Number.POSITIVE_INFINITY,
    });
    const symbols = Array.from({ length: 150 }, (_, i) => `S${i}`);
    for (let i = 0; i < 3; i++) {
      await t.provider.poll(symbols);
      t.waitAsAsked();
    }
    const sizes = t.requests.map((r) => r.searchParams.get('symbol')!.split(',').length);
    expect(sizes).toEqual([100, 50, 100]);
    expect(t.provider.describePlan(symbols)).toMatch(
      /2 calls per refresh, every symbol refreshed every 1 min$/,
    );
  });
});

describe('status and resume (for the client)', () => {
  it('reports quota left, the last success per symbol, and refused symbols', async () => {
    const t = await setup(
      (url) => ({ file: url.searchParams.get('symbol') === 'NOPE' ? 'error-invalid-call.json' : IBM }),
      { at: '2025-03-10T15:00:00Z' },
    );
    await t.provider.fetchOnce(['IBM', 'NOPE']);
    expect(await t.provider.status()).toEqual({
      quota: {
        callsLeftToday: 23,
        callsPerDay: 25,
        callsLeftThisMinute: 3,
        callsPerMinute: 5,
        dayResetsAt: '2025-03-11T04:00:00.000Z',
        blockedUntil: null,
      },
      symbols: {
        IBM: { lastSuccessAt: '2025-03-10T15:00:00.000Z' },
        NOPE: { error: expect.stringMatching(/Invalid API call/) },
      },
    });
  });

  it('after a restart, sends only bars newer than the last run’s and fills a long gap with outputsize=full', async () => {
    const t = await setup(() => ({ file: IBM }), { at: '2025-03-10T15:00:00Z', callsPerDay: 1000 });
    // The last run stopped at 15:58 EST on Friday; Monday 11:00 EDT is hours of session later.
    t.provider.resume({ IBM: '2025-03-07T20:58:00.000Z' });
    const bars = await t.provider.poll(['IBM']);
    expect(t.param(0, 'outputsize')).toBe('full');
    expect(bars.map((b) => b.timestamp)).toEqual(['2025-03-07T20:59:00.000Z', '2025-03-07T21:00:00.000Z']);
  });
});
