import { isOpen, type MarketHoursMode, nextOpen, sessionLengthMs } from '../market-hours.ts';
import type { Clock } from './quota.ts';

/**
 * Spends the daily quota evenly: calls are spaced so that `callsPerDay` of them fill one trading day's
 * session (24 h with `always`), and go round-robin over the symbols, so each symbol comes back every
 * session / (callsPerDay / symbols). Outside the session nothing is due.
 */

export interface ScheduleLimits {
  callsPerDay: number;
  callsPerMinute: number;
  marketHours: MarketHoursMode;
}

const MINUTE_MS = 60_000;
/** `REALTIME_BULK_QUOTES` takes at most this many symbols per call. */
export const BULK_SYMBOLS_PER_CALL = 100;

/** Time between two `TIME_SERIES_INTRADAY` calls (one symbol each). */
export function intradaySpacingMs(limits: ScheduleLimits): number {
  return Math.max(
    sessionLengthMs(limits.marketHours) / limits.callsPerDay,
    MINUTE_MS / limits.callsPerMinute,
  );
}

/**
 * Time between two bulk calls when `symbolCount` symbols need `ceil(n/100)` calls per refresh. Quotes
 * move once a minute, so a refresh more often than that would only repeat them.
 */
export function bulkSpacingMs(symbolCount: number, limits: ScheduleLimits): number {
  const callsPerRefresh = Math.max(1, Math.ceil(symbolCount / BULK_SYMBOLS_PER_CALL));
  return Math.max(MINUTE_MS / callsPerRefresh, intradaySpacingMs(limits));
}

/** `9 h 36 min`, `1 min`, `47 s`. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds} s`;
  const totalMinutes = Math.round(totalSeconds / 60);
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  if (hours === 0) return `${minutes} min`;
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

const WINDOW_TEXT: Record<MarketHoursMode, string> = {
  always: '',
  regular: ' during regular hours (09:30–16:00 New York)',
  extended: ' during extended hours (04:00–20:00 New York)',
};

/**
 * The one-line plan printed at start, e.g. "10 symbols, 25 calls/day: each symbol refreshed every
 * 9 h 36 min; bulk quotes would allow every 1 min". The bulk figure is what a premium key (no daily cap,
 * same per-minute rate) would give; with `bulk` set it is the plan itself.
 */
export function describePlan(symbolCount: number, limits: ScheduleLimits & { bulk?: boolean }): string {
  const symbols = `${symbolCount} symbol${symbolCount === 1 ? '' : 's'}`;
  const perDay = Number.isFinite(limits.callsPerDay) ? `${limits.callsPerDay} calls/day` : 'no daily cap';
  const callsPerRefresh = Math.max(1, Math.ceil(symbolCount / BULK_SYMBOLS_PER_CALL));
  if (limits.bulk) {
    const every = bulkSpacingMs(symbolCount, limits) * callsPerRefresh;
    return `${symbols}, ${perDay}, ${limits.callsPerMinute} calls/min${WINDOW_TEXT[limits.marketHours]}: realtime bulk quotes, ${callsPerRefresh} call${callsPerRefresh === 1 ? '' : 's'} per refresh, every symbol refreshed every ${formatDuration(every)}`;
  }
  const perSymbol = intradaySpacingMs(limits) * Math.max(1, symbolCount);
  const premium = { ...limits, callsPerDay: Number.POSITIVE_INFINITY };
  const bulkEvery = bulkSpacingMs(symbolCount, premium) * callsPerRefresh;
  return `${symbols}, ${perDay}${WINDOW_TEXT[limits.marketHours]}: each symbol refreshed every ${formatDuration(perSymbol)}; bulk quotes would allow every ${formatDuration(bulkEvery)}`;
}

export interface Scheduler {
  /** Whether a call is due now: the session is open and the spacing since the last call has passed. */
  isDue(): boolean;
  /** The next unit round-robin (a symbol, or a chunk of symbols), starting the spacing anew. */
  next<T>(units: readonly T[], spacingMs: number): T | undefined;
  /** Make nothing due before `at` (quota refused, provider rate-limited us). */
  deferUntil(at: number): void;
  /** The first instant at which `isDue()` will hold. */
  nextDueAt(): number;
}

export function createScheduler(options: { clock: Clock; marketHours: MarketHoursMode }): Scheduler {
  const { clock, marketHours } = options;
  let notBefore = Number.NEGATIVE_INFINITY;
  let cursor = 0;

  return {
    isDue() {
      const now = clock.now();
      return now >= notBefore && isOpen(now, marketHours);
    },
    next(units, spacingMs) {
      if (units.length === 0) return undefined;
      // The list may have shrunk (a symbol dropped) since the last call: wrap rather than overrun.
      cursor %= units.length;
      const unit = units[cursor];
      cursor = (cursor + 1) % units.length;
      notBefore = clock.now() + spacingMs;
      return unit;
    },
    deferUntil(at) {
      notBefore = Math.max(notBefore, at);
    },
    nextDueAt() {
      const at = Math.max(notBefore, clock.now());
      return +nextOpen(at, marketHours);
    },
  };
}
