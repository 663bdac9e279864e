import { type MarketHoursMode, sessionTimeBetween } from '../market-hours.ts';
import type { FetchLeases } from '../sharing/leases.ts';
import { SharedStateUnavailableError } from '../sharing/redis.ts';
import type { Bar, PriceProvider, ProviderStatus, ProviderSymbolStatus } from '../types.ts';
import { createAlphaVantageClient, defaultSleep, QuotaDeniedError, type Sleep } from './client.ts';
import {
  DemoKeyError,
  InvalidCallError,
  PremiumEndpointError,
  ProviderUnavailableError,
  RateLimitedError,
  UnexpectedResponseError,
} from './errors.ts';
import { parseBulkQuotes, parseIntraday } from './parse.ts';
import { type Clock, createQuota, type Quota, type QuotaStore } from './quota.ts';
import {
  BULK_SYMBOLS_PER_CALL,
  bulkSpacingMs,
  createScheduler,
  describePlan,
  intradaySpacingMs,
} from './schedule.ts';
import { createSlotSchedule } from './shared-schedule.ts';

/** The subset of a pino logger the provider uses. */
export interface ProviderLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface AlphaVantageProviderOptions {
  apiKey: string;
  /** Origin, e.g. `https://www.alphavantage.co`; the client appends `/query`. */
  baseUrl: string;
  /** Set for premium keys: prices then come from `REALTIME_BULK_QUOTES`, up to 100 symbols a call. */
  entitlement?: 'realtime' | 'delayed';
  callsPerMinute: number;
  callsPerDay: number;
  marketHours: MarketHoursMode;
  clock: Clock;
  log: ProviderLog;
  fetch?: typeof fetch;
  /** Where the quota is counted; in memory unless clients share a key. */
  quotaStore?: QuotaStore;
  /** The quota itself, when it is kept elsewhere (Redis, for clients sharing the key); wins over `quotaStore`. */
  quota?: Quota;
  /**
   * Set when several clients split the symbols (REDIS_URL): `poll` then gets this client's share, each
   * symbol is fetched once per fleet-wide period (`shared-schedule.ts`), under a lease.
   */
  sharing?: { fleetSymbols: readonly string[]; leases: FetchLeases };
  sleep?: Sleep;
  random?: () => number;
  /** Per HTTP attempt; 10 s by default. */
  timeoutMs?: number;
}

export interface LastFetched {
  /** The newest bars of the last successful answer for the symbol (at most 100), oldest first. */
  bars: readonly Bar[];
  /** ISO instant of that answer. */
  fetchedAt: string;
}

export interface AlphaVantageProvider extends PriceProvider {
  /** Last data fetched for `symbol`, kept so that a provider outage still leaves a known price. */
  lastFetched(symbol: string): LastFetched | undefined;
  /** The configuration problem (premium endpoint, demo key) that stopped all calls, if any. */
  configurationError(): PremiumEndpointError | DemoKeyError | undefined;
  /**
   * Asks once for every symbol now, ignoring market hours and spacing but not the quota (waiting out
   * the per-minute window, stopping at the daily one): for `stockwatch client --once`.
   */
  fetchOnce(symbols: readonly string[], signal?: AbortSignal): Promise<Bar[]>;
  resume(newestBarPerSymbol: Readonly<Record<string, string>>): void;
  status(): Promise<ProviderStatus>;
}

// `outputsize=compact` returns the latest 100 bars; one-minute bars exist only in extended hours, so a
// gap longer than 100 minutes of extended session cannot be covered by it.
const COMPACT_SPAN_MS = 100 * 60_000;
const CACHED_BARS = 100;
// Nothing may be due for days (weekend, quota spent); waking hourly costs nothing and survives clock jumps.
const MAX_DELAY_MS = 3_600_000;
// While Redis (shared quota, leases) does not answer, nothing is fetched; look again this often.
const SHARED_RETRY_MS = 5_000;

export function createAlphaVantageProvider(options: AlphaVantageProviderOptions): AlphaVantageProvider {
  const { clock, log, entitlement, marketHours } = options;
  const limits = { callsPerDay: options.callsPerDay, callsPerMinute: options.callsPerMinute, marketHours };
  const quota =
    options.quota ??
    createQuota({
      clock,
      limits: { perMinute: options.callsPerMinute, perDay: options.callsPerDay },
      store: options.quotaStore,
    });
  const client = createAlphaVantageClient({
    apiKey: options.apiKey,
    baseUrl: options.baseUrl,
    acquire: () => quota.take(),
    fetch: options.fetch,
    sleep: options.sleep,
    random: options.random,
    timeoutMs: options.timeoutMs,
  });
  const scheduler = createScheduler({ clock, marketHours });
  const sleep = options.sleep ?? defaultSleep;
  const bulk = entitlement !== undefined;
  const sharing = options.sharing;
  const fleetSize = sharing?.fleetSymbols.length ?? 0;
  const slots =
    sharing &&
    createSlotSchedule({
      clock,
      marketHours,
      fleetSymbols: sharing.fleetSymbols,
      // One client alone would go round every symbol in this time; the fleet does it together.
      periodMs: bulk
        ? bulkSpacingMs(fleetSize, limits) * Math.max(1, Math.ceil(fleetSize / BULK_SYMBOLS_PER_CALL))
        : intradaySpacingMs(limits) * Math.max(1, fleetSize),
      spread: !bulk,
    });
  /** This client's share at the last poll, for `nextPollDelayMs`. */
  let owned: readonly string[] = [];
  /** Redis did not answer: no call may be counted, so none is made (see `pollShared`). */
  let sharedDown: SharedStateUnavailableError | undefined;

  /** Newest bar instant already returned, per symbol: only later bars go out again. */
  const newestReturned = new Map<string, number>();
  const cache = new Map<string, LastFetched>();
  /** Symbols the provider refused, with its reason; asking again would only spend quota until the configuration changes. */
  const rejected = new Map<string, string>();
  let stoppedBy: PremiumEndpointError | DemoKeyError | undefined;
  let idle = false;
  // The older `Note` says "per minute" even when the day is spent; a second one in a row means the day.
  let minuteLimitStreak = 0;

  function accept(symbol: string, bars: Bar[]): Bar[] {
    cache.set(symbol, { bars: bars.slice(-CACHED_BARS), fetchedAt: new Date(clock.now()).toISOString() });
    const newest = newestReturned.get(symbol) ?? Number.NEGATIVE_INFINITY;
    const fresh = bars.filter((bar) => Date.parse(bar.timestamp) > newest);
    const last = fresh.at(-1);
    if (last) newestReturned.set(symbol, Date.parse(last.timestamp));
    return fresh;
  }

  async function fetchIntraday(symbol: string, signal?: AbortSignal): Promise<Bar[]> {
    const newest = newestReturned.get(symbol);
    const gap = newest === undefined ? 0 : sessionTimeBetween(newest, clock.now(), 'extended');
    const outputsize = gap > COMPACT_SPAN_MS ? 'full' : 'compact';
    const params = { function: 'TIME_SERIES_INTRADAY', symbol, interval: '1min', outputsize };
    const series = parseIntraday(await client.query(params, signal), `TIME_SERIES_INTRADAY ${symbol}`);
    // Report under the symbol we asked for, whatever spelling the provider echoes back.
    return accept(
      symbol,
      series.bars.map((bar) => ({ ...bar, symbol })),
    );
  }

  async function fetchBulk(symbols: string[], signal?: AbortSignal): Promise<Bar[]> {
    const params = { function: 'REALTIME_BULK_QUOTES', symbol: symbols.join(','), entitlement: entitlement! };
    const { quotes, unknownSymbols } = parseBulkQuotes(await client.query(params, signal));
    for (const symbol of unknownSymbols) reject(symbol, 'REALTIME_BULK_QUOTES returned no data for it');
    const asked = new Set(symbols);
    const bars = quotes.filter((q) => asked.has(q.bar.symbol)).flatMap((q) => accept(q.bar.symbol, [q.bar]));
    return bars.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  }

  function fetchUnit(unit: string[], signal?: AbortSignal): Promise<Bar[]> {
    return bulk ? fetchBulk(unit, signal) : fetchIntraday(unit[0]!, signal);
  }

  function unitsOf(symbols: readonly string[]): string[][] {
    const active = symbols.filter((symbol) => !rejected.has(symbol));
    return bulk ? chunk(active, BULK_SYMBOLS_PER_CALL) : active.map((symbol) => [symbol]);
  }

  function reject(symbol: string, reason: string): void {
    if (rejected.has(symbol)) return;
    rejected.set(symbol, reason);
    log.error(
      { symbol },
      `Alpha Vantage refused symbol '${symbol}' (${reason}); not asking for it again until restart`,
    );
  }

  /** Once per outage: fetching waits for Redis rather than spend calls the other clients cannot see. */
  function noteSharedDown(error: SharedStateUnavailableError) {
    if (!sharedDown)
      log.warn(
        { err: error },
        `${error.message}; no Alpha Vantage calls until Redis answers (the quota shared with the other clients cannot be counted)`,
      );
    sharedDown = error;
    const retryAt = clock.now() + SHARED_RETRY_MS;
    slots?.deferUntil(retryAt);
    scheduler.deferUntil(retryAt);
  }

  function noteSharedUp() {
    if (sharedDown) log.info({}, 'Redis answers again: Alpha Vantage calls resume');
    sharedDown = undefined;
  }

  /**
   * One call at most for this client's share (`mine`): the earliest symbol whose turn in the period has
   * come, taken under its lease so that no other client fetches it in the same period.
   */
  async function pollShared(mine: readonly string[], signal?: AbortSignal): Promise<Bar[]> {
    const schedule = slots!;
    owned = mine.filter((symbol) => !rejected.has(symbol));
    if (owned.length === 0 || !schedule.isDue()) return [];
    const { slot, symbols } = schedule.due(owned, bulk ? BULK_SYMBOLS_PER_CALL : 1);
    if (symbols.length === 0) return [];
    let claimed: string[] = [];
    try {
      const decision = await quota.check();
      if (!decision.allowed) {
        schedule.deferUntil(decision.retryAt);
        noteSharedUp();
        return [];
      }
      // Past the end of the period the lease has done its work; a little longer covers clock skew.
      const ttl = (slot + 1) * schedule.periodMs - clock.now() + schedule.periodMs;
      for (const symbol of symbols) {
        if (await sharing!.leases.claim(symbol, slot, ttl)) claimed.push(symbol);
        schedule.markDone(symbol, slot);
      }
      noteSharedUp();
    } catch (error) {
      if (!(error instanceof SharedStateUnavailableError)) throw error;
      for (const symbol of symbols) schedule.unmark(symbol, slot);
      noteSharedDown(error);
      return [];
    }
    if (claimed.length === 0) return [];
    try {
      const bars = await fetchUnit(claimed, signal);
      minuteLimitStreak = 0;
      return bars;
    } catch (error) {
      if (error instanceof QuotaDeniedError || error instanceof SharedStateUnavailableError) {
        // Nothing was sent: give the period back, to this client or whoever owns the symbols next.
        for (const symbol of claimed) schedule.unmark(symbol, slot);
        await Promise.all(claimed.map((symbol) => sharing!.leases.release(symbol, slot).catch(() => {})));
        claimed = [];
      }
      return handleFailure(error, claimed.length > 0 ? claimed : symbols, signal);
    }
  }

  async function handleFailure(error: unknown, unit: string[], signal?: AbortSignal): Promise<Bar[]> {
    if (signal?.aborted) throw error;
    if (error instanceof SharedStateUnavailableError) {
      noteSharedDown(error);
    } else if (error instanceof QuotaDeniedError) {
      slots?.deferUntil(error.retryAt);
      scheduler.deferUntil(error.retryAt);
    } else if (error instanceof RateLimitedError) {
      minuteLimitStreak = error.window === 'minute' ? minuteLimitStreak + 1 : 0;
      const window = error.window === 'day' || minuteLimitStreak > 1 ? 'day' : 'minute';
      const until = await quota.exhaust(window).catch((e: unknown) => {
        if (e instanceof SharedStateUnavailableError) noteSharedDown(e);
        return clock.now() + (window === 'day' ? SHARED_RETRY_MS : 60_000);
      });
      scheduler.deferUntil(until);
      slots?.deferUntil(until);
      log.warn({ until: new Date(until).toISOString() }, `${error.message}; no calls until then`);
    } else if (error instanceof InvalidCallError) {
      if (unit.length === 1) reject(unit[0]!, error.providerMessage ?? error.message);
      else log.error({ symbols: unit.length }, error.message);
    } else if (error instanceof PremiumEndpointError || error instanceof DemoKeyError) {
      stoppedBy = error;
      log.error({ kind: error.kind }, `${error.message}. Alpha Vantage calls stopped until restart.`);
    } else if (error instanceof ProviderUnavailableError || error instanceof UnexpectedResponseError) {
      log.warn({ kind: error.kind, symbols: unit }, error.message);
    } else {
      throw error;
    }
    return [];
  }

  return {
    name: 'alphavantage',

    describePlan(symbols) {
      return describePlan(symbols.length, { ...limits, bulk });
    },

    async poll(symbols, signal) {
      if (stoppedBy) return [];
      if (slots) return pollShared(symbols, signal);
      const units = unitsOf(symbols);
      idle = units.length === 0;
      if (idle || !scheduler.isDue()) return [];
      // Peek first, so that a refused call does not cost the next symbol its turn.
      const decision = await quota.check();
      if (!decision.allowed) {
        scheduler.deferUntil(decision.retryAt);
        return [];
      }
      const spacing = bulk ? bulkSpacingMs(units.flat().length, limits) : intradaySpacingMs(limits);
      const unit = scheduler.next(units, spacing)!;
      try {
        const bars = await fetchUnit(unit, signal);
        minuteLimitStreak = 0;
        return bars;
      } catch (error) {
        return handleFailure(error, unit, signal);
      }
    },

    async fetchOnce(symbols, signal) {
      const bars: Bar[] = [];
      for (const unit of unitsOf(symbols)) {
        let decision: Awaited<ReturnType<Quota['check']>>;
        try {
          decision = await quota.check();
          while (!decision.allowed && decision.reason === 'minute') {
            await sleep(decision.retryAt - clock.now(), signal);
            decision = await quota.check();
          }
          noteSharedUp();
        } catch (error) {
          if (!(error instanceof SharedStateUnavailableError)) throw error;
          noteSharedDown(error);
          break;
        }
        if (stoppedBy || !decision.allowed) {
          if (!decision.allowed) {
            const until = new Date(decision.retryAt).toISOString();
            log.warn(
              { until },
              `Alpha Vantage quota spent until ${until}; skipped ${unit.join(',')} and after`,
            );
          }
          break;
        }
        try {
          bars.push(...(await fetchUnit(unit, signal)));
          minuteLimitStreak = 0;
        } catch (error) {
          await handleFailure(error, unit, signal);
        }
      }
      return bars.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    },

    nextPollDelayMs() {
      if (stoppedBy) return MAX_DELAY_MS;
      if (slots) return Math.min(MAX_DELAY_MS, Math.max(0, slots.nextDueAt(owned) - clock.now()));
      if (idle) return MAX_DELAY_MS;
      return Math.min(MAX_DELAY_MS, Math.max(0, scheduler.nextDueAt() - clock.now()));
    },

    resume(newestBarPerSymbol) {
      // The latest wins: a symbol taken back from another client may come with a newer bar than ours.
      for (const [symbol, iso] of Object.entries(newestBarPerSymbol)) {
        const at = Date.parse(iso);
        const known = newestReturned.get(symbol) ?? Number.NEGATIVE_INFINITY;
        if (Number.isFinite(at) && at > known) newestReturned.set(symbol, at);
      }
    },

    async status() {
      let q: Awaited<ReturnType<Quota['remaining']>> | undefined;
      try {
        q = await quota.remaining();
      } catch (error) {
        if (!(error instanceof SharedStateUnavailableError)) throw error;
        sharedDown ??= error;
      }
      const finite = (n: number) => (Number.isFinite(n) ? n : null);
      const symbols: Record<string, ProviderSymbolStatus> = {};
      for (const [symbol, last] of cache) symbols[symbol] = { lastSuccessAt: last.fetchedAt };
      for (const [symbol, reason] of rejected) symbols[symbol] = { ...symbols[symbol], error: reason };
      const problem = stoppedBy?.message ?? sharedDown?.message;
      return {
        ...(q && {
          quota: {
            callsLeftToday: finite(q.day),
            callsPerDay: finite(q.limits.perDay),
            callsLeftThisMinute: q.minute,
            callsPerMinute: q.limits.perMinute,
            dayResetsAt: new Date(q.dayResetsAt).toISOString(),
            blockedUntil: q.blockedUntil === undefined ? null : new Date(q.blockedUntil).toISOString(),
          },
        }),
        symbols,
        ...(problem && { problem }),
      };
    },

    lastFetched: (symbol) => cache.get(symbol),
    configurationError: () => stoppedBy,
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
