import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientState, ClientStateStore, SymbolProgress } from './client-state.ts';
import type { ClientStatusReport } from './client-status.schemas.ts';
import { PostFailedError, type ServerApi } from './server-api.ts';
import type { Ownership } from './sharing/membership.ts';
import type { SharedProgress } from './sharing/progress.ts';
import type { Spool } from './spool.ts';
import type { Bar, PriceProvider, ProviderQuota, ProviderStatus } from './types.ts';

/**
 * The client role: asks its provider for prices and posts them to the server through the public
 * `POST /stocks` contract, exactly as any third-party client would.
 *
 * Every bar fetched is appended to the durable spool before anything is posted (the provider's quota
 * was spent on it, and a crash between fetch and post must not lose it), and leaves the spool only
 * when the server has acknowledged it. While the server does not answer, the spool is retried on its
 * own backoff, independent of the provider's schedule, which may be hours apart on a free key.
 */

/** The subset of a pino logger the client uses. */
export interface ClientLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A bar the server refused for good (422), kept with its reason instead of blocking the spool forever. */
export interface RejectedBar {
  bar: Bar;
  reason: string;
  rejectedAt: string;
}

export interface MarketDataClientOptions {
  provider: PriceProvider;
  symbols: readonly string[];
  server: ServerApi;
  spool: Spool<Bar>;
  /** Where refused bars go (a spool of its own in DATA_DIR/client/rejected.jsonl). */
  rejected: Pick<Spool<RejectedBar>, 'append'>;
  state?: ClientStateStore;
  log: ClientLog;
  /** Level of the one line per round: `info` for `stockwatch client`, `debug` inside `stockwatch all`. */
  progressLevel?: 'info' | 'debug';
  /** Shown in the status report; the machine's name by default. */
  host?: string;
  now?: () => number;
  /** Largest batch per request (the server takes up to 10,000). */
  batchSize?: number;
  /** Backoff of the spool's retries while the server does not answer. */
  retry?: { firstMs?: number; maxMs?: number };
  /** Status is also reported this often, so a restarted server learns it without waiting for a round. */
  statusIntervalMs?: number;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Several clients on one Redis: which of `symbols` this one fetches. Rounds then ask the provider for
   * this client's share only, and a change of share starts a round at once.
   */
  ownership?: Ownership;
  /** With `ownership`: the newest bar per symbol across clients, so a symbol taken over resumes from it. */
  sharedProgress?: SharedProgress;
}

export interface RoundReport {
  fetched: number;
  /** Bars the server acknowledged in this round (old spooled ones included). */
  sent: number;
  /** Of those, how many it had not stored before. */
  inserted: number;
  /** Bars the server refused for good, moved to the rejected file. */
  rejected: number;
  /** Bars still waiting in the spool after the round. */
  spooled: number;
  quota?: ProviderQuota;
  /** Why posting stopped, when it did. */
  postError?: PostFailedError;
  providerProblem?: string;
}

interface DrainTally {
  sent: number;
  inserted: number;
  rejected: number;
  error?: PostFailedError;
}

const ONCE_POST_ATTEMPTS = 3;

export function createMarketDataClient(options: MarketDataClientOptions) {
  const { provider, symbols, server, spool, log, ownership, sharedProgress } = options;
  const now = options.now ?? Date.now;
  const batchSize = options.batchSize ?? 5000;
  const firstRetryMs = options.retry?.firstMs ?? 1000;
  const maxRetryMs = options.retry?.maxMs ?? 10_000;
  const statusIntervalMs = options.statusIntervalMs ?? 60_000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const progressLevel = options.progressLevel ?? 'info';
  const host = options.host ?? hostname();
  const state: ClientState = options.state?.load() ?? { clientId: randomUUID(), symbols: {} };

  const controller = new AbortController();
  let looping = false;
  let stopped = false;
  let rounds = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let inFlightRound: Promise<unknown> | undefined;
  let draining: Promise<DrainTally> | undefined;
  let failures = 0;
  let retryAt = 0;
  let lastFailure: string | undefined;
  let statusRouteMissing = false;
  let wakeRequested = false;
  /** The symbols this client fetches: all of them, unless it shares them with others. */
  const mine = (): readonly string[] => ownership?.owned() ?? symbols;
  /** Owned symbols whose shared progress this client has read since it took them. */
  const caughtUp = new Set<string>();

  provider.resume?.(
    Object.fromEntries(
      Object.entries(state.symbols).flatMap(([s, p]) => (p.newestBarAt ? [[s, p.newestBarAt]] : [])),
    ),
  );

  function progressOf(symbol: string): SymbolProgress {
    let progress = state.symbols[symbol];
    if (!progress) {
      progress = {};
      state.symbols[symbol] = progress;
    }
    return progress;
  }

  async function fetchBars(once: boolean, share: readonly string[]): Promise<Bar[]> {
    const signal = controller.signal;
    try {
      return once && provider.fetchOnce
        ? await provider.fetchOnce(share, signal)
        : await provider.poll(share, signal);
    } catch (error) {
      if (stopped) return [];
      log.warn({ err: error }, `${provider.name}: fetching prices failed`);
      return [];
    }
  }

  async function accept(bars: Bar[]): Promise<void> {
    if (bars.length === 0) return;
    await spool.append(bars);
    const at = new Date(now()).toISOString();
    const newest: Record<string, Bar> = {};
    for (const bar of bars) {
      const progress = progressOf(bar.symbol);
      if (!progress.newestBarAt || bar.timestamp > progress.newestBarAt) progress.newestBarAt = bar.timestamp;
      progress.lastSuccessAt = at;
      const known = newest[bar.symbol];
      if (!known || bar.timestamp > known.timestamp) newest[bar.symbol] = bar;
    }
    await sharedProgress?.record(newest).catch((error: unknown) => {
      // Only costs a next owner some history it asks for again (or, past 100 bars, a gap it cannot see).
      log.debug({ err: error }, 'could not record the newest bars in Redis');
    });
  }

  /** Symbols just taken over start from the newest bar any client fetched, not from nothing. */
  async function catchUpShared(owned: readonly string[]): Promise<void> {
    if (!sharedProgress) return;
    for (const symbol of caughtUp) if (!owned.includes(symbol)) caughtUp.delete(symbol);
    const taken = owned.filter((symbol) => !caughtUp.has(symbol));
    if (taken.length === 0) return;
    try {
      const lastBars = await sharedProgress.read(taken);
      provider.resume?.(
        Object.fromEntries(Object.entries(lastBars).map(([symbol, bar]) => [symbol, bar.timestamp])),
      );
      provider.takeOver?.(lastBars);
      for (const symbol of taken) caughtUp.add(symbol);
    } catch (error) {
      log.debug({ err: error }, 'could not read the newest bars from Redis; trying again next round');
    }
  }

  /** Sends the spool front to back; acks each batch once the server took it. */
  async function drainOnce(tally: DrainTally): Promise<void> {
    while (spool.size > 0 && !stopped) {
      const batch = spool.peek(batchSize);
      const result = await postBatch(batch);
      await spool.ack(batch.length);
      tally.sent += result.sent;
      tally.inserted += result.inserted;
      tally.rejected += result.rejected;
    }
  }

  async function postBatch(batch: readonly Bar[]) {
    const signal = controller.signal;
    let pending = [...batch];
    // The problem document points at the bad bars (`/3/price`): set them aside and send the rest.
    for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
      const outcome = await server.postBars(pending, signal);
      if (outcome.ok)
        return { sent: pending.length, inserted: outcome.inserted, rejected: batch.length - pending.length };
      if (outcome.rejected.length === 0) break;
      await setAside(
        outcome.rejected.map((i) => pending[i]!),
        outcome.reasons,
      );
      const refused = new Set(outcome.rejected);
      pending = pending.filter((_, i) => !refused.has(i));
    }
    // A refusal that names no bar: find the culprits one by one. Rare, and only once per such batch.
    let sent = 0;
    let inserted = 0;
    for (const bar of pending) {
      const outcome = await server.postBars([bar], signal);
      if (outcome.ok) {
        sent += 1;
        inserted += outcome.inserted;
      } else await setAside([bar], [outcome.detail]);
    }
    return { sent, inserted, rejected: batch.length - sent };
  }

  async function setAside(bars: Bar[], reasons: string[]) {
    const rejectedAt = new Date(now()).toISOString();
    await options.rejected.append(
      bars.map((bar, i) => ({ bar, reason: reasons[i] ?? 'refused', rejectedAt })),
    );
    for (const [i, bar] of bars.entries())
      log.error(
        { bar, reason: reasons[i] },
        `the server refused ${bar.symbol} at ${bar.timestamp} for good (${reasons[i]}); kept in the rejected file`,
      );
  }

  /** One pass over the spool; concurrent callers share it. */
  function drain(): Promise<DrainTally> {
    draining ??= (async () => {
      const tally: DrainTally = { sent: 0, inserted: 0, rejected: 0 };
      try {
        await drainOnce(tally);
        if (failures > 0 && !stopped)
          log.info(
            { sent: tally.sent },
            `the server answers again: sent ${tally.sent} spooled bar${tally.sent === 1 ? '' : 's'}`,
          );
        failures = 0;
        retryAt = 0;
        lastFailure = undefined;
      } catch (error) {
        if (stopped) return tally;
        if (!(error instanceof PostFailedError)) throw error;
        tally.error = error;
        noteFailure(error);
      } finally {
        draining = undefined;
      }
      return tally;
    })();
    return draining;
  }

  function noteFailure(error: PostFailedError) {
    failures += 1;
    const backoff = Math.min(maxRetryMs, firstRetryMs * 2 ** (failures - 1)) * (0.5 + random() / 2);
    const wait = error.retryAfterS ? Math.max(error.retryAfterS * 1000, backoff) : backoff;
    retryAt = now() + wait;
    // Say it once per distinct problem; the progress lines carry the spool's size meanwhile.
    if (error.message !== lastFailure) {
      const level = error.kind === 'unauthorized' ? 'error' : 'warn';
      log[level](
        { kind: error.kind, spooled: spool.size },
        `posting prices failed: ${error.message}; ${spool.size} bars kept in the spool, retrying`,
      );
      lastFailure = error.message;
    }
    if (looping && !stopped) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(() => {
        void drain().then((tally) => {
          if (!tally.error) void reportStatus();
        }, logUnexpected);
      }, wait);
    }
  }

  async function drainWithRetries(): Promise<DrainTally> {
    const total: DrainTally = { sent: 0, inserted: 0, rejected: 0 };
    for (let attempt = 1; attempt <= ONCE_POST_ATTEMPTS; attempt++) {
      const tally = await drain();
      total.sent += tally.sent;
      total.inserted += tally.inserted;
      total.rejected += tally.rejected;
      total.error = tally.error;
      if (!tally.error || tally.error.kind === 'unauthorized' || attempt === ONCE_POST_ATTEMPTS) break;
      await sleep(Math.max(0, retryAt - now()), controller.signal).catch(() => {});
      if (stopped) break;
    }
    return total;
  }

  async function providerStatus(): Promise<ProviderStatus | undefined> {
    try {
      const status = await provider.status?.();
      for (const [symbol, s] of Object.entries(status?.symbols ?? {})) {
        const progress = progressOf(symbol);
        if (s.lastSuccessAt && (!progress.lastSuccessAt || s.lastSuccessAt > progress.lastSuccessAt))
          progress.lastSuccessAt = s.lastSuccessAt;
      }
      return status;
    } catch (error) {
      log.debug({ err: error }, 'provider status unavailable');
      return undefined;
    }
  }

  function buildReport(status: ProviderStatus | undefined): ClientStatusReport {
    const q = status?.quota;
    return {
      client_id: state.clientId,
      host: host.slice(0, 255),
      provider: provider.name,
      plan: provider.describePlan(symbols).slice(0, 1000),
      spooled: spool.size,
      quota: q
        ? {
            calls_left_today: q.callsLeftToday,
            calls_per_day: q.callsPerDay,
            calls_left_this_minute: q.callsLeftThisMinute,
            calls_per_minute: q.callsPerMinute,
            day_resets_at: q.dayResetsAt,
            blocked_until: q.blockedUntil,
          }
        : null,
      problem: status?.problem?.slice(0, 2000) ?? null,
      ...(ownership && {
        sharing: { member_id: ownership.id, members: ownership.members().slice(0, 1000) },
      }),
      symbols: mine().map((symbol) => ({
        symbol,
        last_success_at: state.symbols[symbol]?.lastSuccessAt ?? null,
        newest_bar_at: state.symbols[symbol]?.newestBarAt ?? null,
        error: status?.symbols[symbol]?.error?.slice(0, 1000) ?? null,
      })),
    };
  }

  /** Best effort: status is for people; it must never hold up prices. */
  async function reportStatus(status?: ProviderStatus): Promise<void> {
    try {
      await server.postStatus(buildReport(status ?? (await providerStatus())), controller.signal);
      statusRouteMissing = false;
    } catch (error) {
      if (stopped) return;
      const missing = error instanceof PostFailedError && /with 404/.test(error.message);
      if (missing && !statusRouteMissing)
        log.warn({}, 'the server has no POST /client-status (older version?): status not reported');
      else log.debug({ err: error }, 'reporting status failed');
      statusRouteMissing = missing;
    }
  }

  function saveState() {
    try {
      options.state?.save(state);
    } catch (error) {
      // Only costs a re-sent window after a restart; the server dedupes it.
      log.warn({ err: error }, 'could not save the client state');
    }
  }

  async function runRound(once: boolean): Promise<RoundReport> {
    rounds += 1;
    // One share for the whole round: a symbol gained meanwhile waits for the next, after its catch-up.
    const share = mine();
    await catchUpShared(share);
    const bars = await fetchBars(once, share);
    await accept(bars);
    let tally: DrainTally = { sent: 0, inserted: 0, rejected: 0 };
    if (spool.size > 0 && !stopped) {
      if (once) tally = await drainWithRetries();
      // While backing off, new bars just join the spool; the retry timer sends them with the rest.
      else if (draining || now() >= retryAt) tally = await drain();
    }
    const status = await providerStatus();
    saveState();
    const report: RoundReport = {
      fetched: bars.length,
      sent: tally.sent,
      inserted: tally.inserted,
      rejected: tally.rejected,
      spooled: spool.size,
      ...(status?.quota && { quota: status.quota }),
      ...(tally.error && { postError: tally.error }),
      ...(status?.problem && { providerProblem: status.problem }),
    };
    log[progressLevel](
      { round: rounds, ...report, postError: tally.error?.message },
      progressLine(rounds, report, failures > 0),
    );
    if (failures === 0 && !stopped) await reportStatus(status);
    return report;
  }

  function describe(): string {
    const plan = provider.describePlan(symbols);
    return ownership ? `${plan}; shared through Redis with the other clients, as ${ownership.id}` : plan;
  }

  function logUnexpected(error: unknown) {
    if (!stopped) log.error({ err: error }, 'market-data client round failed');
  }

  function scheduleNext() {
    if (stopped) return;
    const delayMs = wakeRequested ? 0 : provider.nextPollDelayMs();
    wakeRequested = false;
    pollTimer = setTimeout(() => {
      pollTimer = undefined;
      inFlightRound = runRound(false).catch(logUnexpected).finally(scheduleNext);
    }, delayMs);
  }

  /** This client's share changed: a round now (or right after the one running), and a fresh status. */
  function wake() {
    if (!looping || stopped) return;
    if (pollTimer) {
      clearTimeout(pollTimer);
      pollTimer = undefined;
      inFlightRound = runRound(false).catch(logUnexpected).finally(scheduleNext);
    } else wakeRequested = true;
  }
  ownership?.onChange(wake);

  return {
    clientId: state.clientId,

    /** Logs the plan and starts polling; the first round runs at once. */
    start() {
      looping = true;
      log.info({ provider: provider.name, server: server.serverUrl }, describe());
      if (spool.size > 0)
        log.info({ spooled: spool.size }, `${spool.size} bars left from an earlier run go out first`);
      inFlightRound = runRound(false).catch(logUnexpected).finally(scheduleNext);
      statusTimer = setInterval(() => {
        if (failures === 0) void reportStatus();
      }, statusIntervalMs);
      statusTimer.unref();
    },

    /** One round for `--once`: fetch whatever the hour, post with a few quick retries, report. */
    async runOnce(): Promise<RoundReport> {
      log.info({ provider: provider.name, server: server.serverUrl }, describe());
      return runRound(true);
    },

    /** Stops polling and cancels calls in flight; whatever is unsent stays in the spool. */
    async stop() {
      stopped = true;
      clearTimeout(pollTimer);
      clearTimeout(retryTimer);
      clearInterval(statusTimer);
      controller.abort(new Error('client stopping'));
      await inFlightRound;
      await draining;
      saveState();
    },

    spooled: () => spool.size,
  };
}

/** `round 3: fetched 100, sent 100 (98 new), spooled 0; quota 23/25 calls left today` */
export function progressLine(round: number, r: RoundReport, serverDown: boolean): string {
  let line = `round ${round}: fetched ${r.fetched}, sent ${r.sent} (${r.inserted} new), spooled ${r.spooled}`;
  if (r.rejected > 0) line += `, rejected ${r.rejected}`;
  if (serverDown && r.spooled > 0) line += ' (server not answering)';
  const q = r.quota;
  if (q) {
    line +=
      q.callsLeftToday === null
        ? `; quota ${q.callsLeftThisMinute}/${q.callsPerMinute} calls left this minute`
        : `; quota ${q.callsLeftToday}/${q.callsPerDay} calls left today`;
    if (q.blockedUntil) line += ` (provider says wait until ${q.blockedUntil})`;
  }
  if (r.providerProblem) line += `; provider stopped: ${r.providerProblem}`;
  return line;
}

export type MarketDataClient = ReturnType<typeof createMarketDataClient>;
