import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createMarketDataClient,
  type MarketDataClientOptions,
  progressLine,
  type RejectedBar,
} from './client.ts';
import { createMemoryStateStore } from './client-state.ts';
import { createServerApi } from './server-api.ts';
import { openSpool } from './spool.ts';
import {
  bar,
  type FakeIngestServer,
  memoryLog,
  scriptedProvider,
  startFakeIngestServer,
  waitFor,
} from './test-helpers.ts';
import type { Bar, ProviderStatus } from './types.ts';

let dir: string;
let server: FakeIngestServer;
const stoppers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stockwatch-client-'));
  server = await startFakeIngestServer();
});
afterEach(async () => {
  for (const stop of stoppers.splice(0)) await stop();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function makeClient(
  provider: MarketDataClientOptions['provider'],
  extra: Partial<MarketDataClientOptions> = {},
) {
  const spool = await openSpool<Bar>(dir);
  const rejected = await openSpool<RejectedBar>(dir, { fileName: 'rejected.jsonl' });
  const log = memoryLog();
  const client = createMarketDataClient({
    provider,
    symbols: ['IBM', 'MSFT'],
    server: createServerApi({ serverUrl: server.url, ingestToken: 'test-ingest-token-0123456789' }),
    spool,
    rejected,
    log,
    host: 'test-host',
    retry: { firstMs: 20, maxMs: 50 },
    sleep: async () => {},
    ...extra,
  });
  stoppers.push(() => client.stop());
  return { client, spool, rejected, log };
}

const spoolLines = async () =>
  (await readFile(path.join(dir, 'spool.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('posting', () => {
  it('sends what the provider fetched, with the ingest token, and empties the spool', async () => {
    const bars = [bar('IBM', 1), bar('MSFT', 1), bar('IBM', 2)];
    const { client, spool, log } = await makeClient(scriptedProvider([bars]));
    const report = await client.runOnce();
    expect(server.stored).toEqual(bars);
    expect(server.authorizations[0]).toBe('Bearer test-ingest-token-0123456789');
    expect(report).toMatchObject({ fetched: 3, sent: 3, inserted: 3, spooled: 0, rejected: 0 });
    expect(spool.size).toBe(0);
    expect(await spoolLines()).toEqual([]);
    expect(log.messages('info')).toEqual([
      'scripted: 2 symbols',
      'round 1: fetched 3, sent 3 (3 new), spooled 0',
    ]);
  });

  it('sends large rounds in batches, in order', async () => {
    const bars = Array.from({ length: 25 }, (_, i) => bar('IBM', i));
    const { client } = await makeClient(scriptedProvider([bars]), { batchSize: 10 });
    await client.runOnce();
    expect(server.posts.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(server.stored).toEqual(bars);
  });
});

describe('nothing lost', () => {
  it('keeps bars in the spool while the server is down and sends them in order when it answers, also after a restart', async () => {
    server.reply(() => ({ kind: 'drop' }));
    const first = await makeClient(
      scriptedProvider([[bar('IBM', 1)], [bar('MSFT', 1), bar('IBM', 2)], [bar('IBM', 3)]]),
    );
    first.client.start();
    await waitFor(() => first.spool.size === 4, 5000, 'four spooled bars');
    expect(server.stored).toEqual([]);
    expect(await spoolLines()).toHaveLength(4);
    // Said once, not once per retry.
    expect(first.log.messages('warn')).toEqual([
      expect.stringMatching(
        /^posting prices failed: http:\/\/127\.0\.0\.1:\d+ unreachable: .*bars kept in the spool, retrying$/,
      ),
    ]);
    expect(first.log.messages('info').at(-1)).toMatch(/spooled \d \(server not answering\)$/);
    await first.client.stop();

    // A new process: the spool is all it has of the first one.
    server.reply(() => ({ kind: 'store' }));
    const second = await makeClient(scriptedProvider([[bar('IBM', 4)]]));
    second.client.start();
    await waitFor(() => server.stored.length === 5, 5000, 'five stored bars');
    expect(server.stored).toEqual([
      bar('IBM', 1),
      bar('MSFT', 1),
      bar('IBM', 2),
      bar('IBM', 3),
      bar('IBM', 4),
    ]);
    expect(second.log.messages('info')).toContain('4 bars left from an earlier run go out first');
    await waitFor(() => second.spool.size === 0);
  });

  it('retries the spool on its own backoff while the provider has nothing new for hours', async () => {
    let down = true;
    server.reply(() =>
      down ? { kind: 'status', status: 503, headers: { 'retry-after': '0' } } : { kind: 'store' },
    );
    const { client, log } = await makeClient(scriptedProvider([[bar('IBM', 1)]], { delayMs: 3_600_000 }));
    client.start();
    await waitFor(() => server.posts.length >= 3, 5000, 'three attempts');
    down = false;
    await waitFor(() => server.stored.length === 1, 5000, 'the bar stored');
    expect(log.messages('warn')).toEqual([expect.stringMatching(/answered POST \/stocks with 503/)]);
    await waitFor(() => log.messages('info').includes('the server answers again: sent 1 spooled bar'));
    // Back to normal: the status report follows the successful retry.
    await waitFor(() => server.statusReports.length === 1);
  });

  it('sets aside a bar the server refuses for good and sends the rest', async () => {
    server.reply((bars) => {
      const bad = bars.findIndex((b) => b.price === 13);
      return bad >= 0
        ? {
            kind: 'status',
            status: 422,
            body: {
              detail: '1 invalid price(s)',
              errors: [{ pointer: `/${bad}/price`, detail: 'too unlucky' }],
            },
          }
        : { kind: 'store' };
    });
    const bad = bar('IBM', 2, 13);
    const { client, rejected } = await makeClient(scriptedProvider([[bar('IBM', 1), bad, bar('IBM', 3)]]));
    const report = await client.runOnce();
    expect(server.stored).toEqual([bar('IBM', 1), bar('IBM', 3)]);
    expect(report).toMatchObject({ sent: 2, rejected: 1, spooled: 0 });
    expect(rejected.size).toBe(1);
    expect(rejected.peek(1)[0]).toMatchObject({ bar: bad, reason: '/price too unlucky' });
  });

  it('finds the refused bar one by one when the problem names none', async () => {
    server.reply((bars) =>
      bars.some((b) => b.price === 13)
        ? { kind: 'status', status: 422, body: { detail: 'no' } }
        : { kind: 'store' },
    );
    const { client, rejected } = await makeClient(
      scriptedProvider([[bar('IBM', 1), bar('IBM', 2, 13), bar('IBM', 3)]]),
    );
    const report = await client.runOnce();
    expect(server.stored).toEqual([bar('IBM', 1), bar('IBM', 3)]);
    expect(report).toMatchObject({ sent: 2, rejected: 1, spooled: 0 });
    expect(rejected.peek(1)[0]?.reason).toBe('no');
  });

  it('says plainly when the server refuses the token, and keeps the bars', async () => {
    server.reply(() => ({ kind: 'status', status: 401, body: { detail: 'Invalid ingest token' } }));
    const { client, log, spool } = await makeClient(scriptedProvider([[bar('IBM', 1)]]));
    const report = await client.runOnce();
    expect(report.postError?.kind).toBe('unauthorized');
    expect(report.spooled).toBe(1);
    expect(spool.size).toBe(1);
    // No quick retries: a wrong token stays wrong.
    expect(server.posts).toHaveLength(1);
    expect(log.messages('error')).toEqual([
      expect.stringMatching(/refused the ingest token .*set INGEST_TOKEN/),
    ]);
  });
});

describe('--once', () => {
  it("uses the provider's fetchOnce and tries posting three times before giving up", async () => {
    server.reply(() => ({ kind: 'drop' }));
    const provider = scriptedProvider([], {
      fetchOnce: async () => [bar('IBM', 1), bar('MSFT', 1)],
    });
    const { client } = await makeClient(provider);
    const report = await client.runOnce();
    expect(provider.polls).toBe(0);
    expect(server.posts).toHaveLength(3);
    expect(report).toMatchObject({ fetched: 2, sent: 0, spooled: 2 });
    expect(report.postError?.kind).toBe('unreachable');
  });
});

describe('status', () => {
  const status: ProviderStatus = {
    quota: {
      callsLeftToday: 23,
      callsPerDay: 25,
      callsLeftThisMinute: 4,
      callsPerMinute: 5,
      dayResetsAt: '2025-03-11T04:00:00.000Z',
      blockedUntil: null,
    },
    symbols: { IBM: { lastSuccessAt: '2025-03-10T14:05:00.000Z' }, MSFT: { error: 'Invalid API call' } },
  };

  it('reports quota left and the last success per symbol after a round, and shows the quota in the progress line', async () => {
    const { client, log } = await makeClient(scriptedProvider([[bar('IBM', 1)]], { statusValue: status }), {
      now: () => Date.parse('2025-03-10T14:02:00Z'),
    });
    await client.runOnce();
    expect(server.statusReports).toEqual([
      {
        client_id: expect.any(String),
        host: 'test-host',
        provider: 'scripted',
        plan: 'scripted: 2 symbols',
        spooled: 0,
        quota: {
          calls_left_today: 23,
          calls_per_day: 25,
          calls_left_this_minute: 4,
          calls_per_minute: 5,
          day_resets_at: '2025-03-11T04:00:00.000Z',
          blocked_until: null,
        },
        problem: null,
        symbols: [
          {
            symbol: 'IBM',
            // The provider's own record is newer than the round's bars.
            last_success_at: '2025-03-10T14:05:00.000Z',
            newest_bar_at: '2025-03-10T14:01:00.000Z',
            error: null,
          },
          { symbol: 'MSFT', last_success_at: null, newest_bar_at: null, error: 'Invalid API call' },
        ],
      },
    ]);
    expect(log.messages('info').at(-1)).toBe(
      'round 1: fetched 1, sent 1 (1 new), spooled 0; quota 23/25 calls left today',
    );
  });

  it('resumes the provider from the newest bars of the last run', async () => {
    const state = createMemoryStateStore();
    const first = await makeClient(scriptedProvider([[bar('IBM', 1), bar('IBM', 7), bar('MSFT', 3)]]), {
      state,
    });
    await first.client.runOnce();
    await first.client.stop();
    const provider = scriptedProvider([]);
    const second = await makeClient(provider, { state });
    expect(provider.resumedFrom).toEqual([{ IBM: bar('IBM', 7).timestamp, MSFT: bar('MSFT', 3).timestamp }]);
    expect(second.client.clientId).toBe(first.client.clientId);
  });
});

describe('progressLine', () => {
  it('reads as one line per round', () => {
    const base = { fetched: 100, sent: 140, inserted: 98, rejected: 0, spooled: 0 };
    expect(progressLine(3, base, false)).toBe('round 3: fetched 100, sent 140 (98 new), spooled 0');
    expect(
      progressLine(
        4,
        {
          ...base,
          sent: 0,
          inserted: 0,
          spooled: 240,
          quota: {
            callsLeftToday: null,
            callsPerDay: null,
            callsLeftThisMinute: 0,
            callsPerMinute: 5,
            dayResetsAt: '2025-03-11T04:00:00.000Z',
            blockedUntil: '2025-03-10T14:01:05.000Z',
          },
        },
        true,
      ),
    ).toBe(
      'round 4: fetched 100, sent 0 (0 new), spooled 240 (server not answering); quota 0/5 calls left this minute (provider says wait until 2025-03-10T14:01:05.000Z)',
    );
  });
});
