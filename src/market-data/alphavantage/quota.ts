import { marketDate, nextMarketMidnight } from '../market-hours.ts';

/**
 * Alpha Vantage's quota: so many calls per minute (sliding) and per day, the day being New York's
 * (it resets at midnight US/Eastern). The keeper holds the arithmetic; the state sits behind
 * `QuotaStore` so that clients sharing one key can later keep it in Redis.
 */

export interface Clock {
  now(): number;
}

export interface QuotaLimits {
  perMinute: number;
  /** `Infinity` for plans without a daily cap. */
  perDay: number;
}

export interface QuotaState {
  /** Instants of the calls made in the last minute, oldest first. */
  recent: number[];
  /** The New York date `dayCount` counts for. */
  day: string;
  dayCount: number;
  /** The provider said the quota is spent: no call before this instant. */
  blockedUntil: number;
}

/**
 * Where the state lives. `update` must apply `change` atomically (a Redis store would run it under
 * WATCH/MULTI and retry on conflict), because the keeper reads and writes in one step.
 */
export interface QuotaStore {
  update<T>(change: (state: QuotaState) => { state: QuotaState; result: T }): Promise<T>;
}

export function createMemoryQuotaStore(): QuotaStore {
  let state: QuotaState = { recent: [], day: '', dayCount: 0, blockedUntil: 0 };
  return {
    async update(change) {
      const next = change(state);
      state = next.state;
      return next.result;
    },
  };
}

export type QuotaDecision =
  | { allowed: true }
  | { allowed: false; retryAt: number; reason: 'minute' | 'day' | 'blocked' };

export interface Quota {
  /** Whether a call may be made now, without using it up. */
  check(): Promise<QuotaDecision>;
  /** Uses up one call if one may be made now. */
  take(): Promise<QuotaDecision>;
  /** The provider said `window` is spent: refuse every call until it resets. Returns that instant. */
  exhaust(window: 'minute' | 'day'): Promise<number>;
  /** What is left now, without using anything: for progress lines and the status page. */
  remaining(): Promise<QuotaRemaining>;
}

export interface QuotaRemaining {
  /** Calls left in the sliding minute. */
  minute: number;
  /** Calls left in the New York day; `Infinity` without a daily cap. */
  day: number;
  limits: QuotaLimits;
  /** When the day's count starts again (New York midnight). */
  dayResetsAt: number;
  /** The provider's own refusal, while it lasts. */
  blockedUntil: number | undefined;
}

export const DEFAULT_QUOTA_LIMITS: QuotaLimits = { perMinute: 5, perDay: 25 };

const MINUTE_MS = 60_000;
// Our clock and the provider's differ by a little; after it has refused us, wait this much longer
// rather than spend a call on a window it has not reset yet.
const RESET_MARGIN_MS = 5_000;

export function createQuota(options: { clock: Clock; limits?: QuotaLimits; store?: QuotaStore }): Quota {
  const { clock } = options;
  const limits = options.limits ?? DEFAULT_QUOTA_LIMITS;
  if (!(limits.perMinute >= 1) || !(limits.perDay >= 1)) {
    throw new RangeError(
      `Quota limits must be at least 1 (got ${limits.perMinute}/min, ${limits.perDay}/day)`,
    );
  }
  const store = options.store ?? createMemoryQuotaStore();

  const decide = (take: boolean) =>
    store.update((stored) => {
      const now = clock.now();
      const state = current(stored, now);
      const decision = evaluate(state, limits, now);
      if (decision.allowed && take) {
        state.recent.push(now);
        state.dayCount += 1;
      }
      return { state, result: decision };
    });

  return {
    check: () => decide(false),
    take: () => decide(true),
    exhaust: (window) =>
      store.update((stored) => {
        const now = clock.now();
        const state = current(stored, now);
        const until =
          window === 'day' ? +nextMarketMidnight(now) + RESET_MARGIN_MS : now + MINUTE_MS + RESET_MARGIN_MS;
        state.blockedUntil = Math.max(state.blockedUntil, until);
        return { state, result: state.blockedUntil };
      }),
    remaining: () =>
      store.update((stored) => {
        const now = clock.now();
        const state = current(stored, now);
        const blocked = state.blockedUntil > now;
        return {
          state,
          result: {
            minute: blocked ? 0 : Math.max(0, limits.perMinute - state.recent.length),
            day: blocked ? 0 : Math.max(0, limits.perDay - state.dayCount),
            limits,
            dayResetsAt: +nextMarketMidnight(now),
            blockedUntil: blocked ? state.blockedUntil : undefined,
          },
        };
      }),
  };
}

/** A copy of `stored` with the minute window slid to `now` and the day rolled over if it changed. */
function current(stored: QuotaState, now: number): QuotaState {
  const day = marketDate(now);
  return {
    recent: stored.recent.filter((t) => t > now - MINUTE_MS),
    day,
    dayCount: stored.day === day ? stored.dayCount : 0,
    blockedUntil: stored.blockedUntil,
  };
}

function evaluate(state: QuotaState, limits: QuotaLimits, now: number): QuotaDecision {
  if (state.blockedUntil > now) return { allowed: false, retryAt: state.blockedUntil, reason: 'blocked' };
  if (state.dayCount >= limits.perDay) {
    return { allowed: false, retryAt: +nextMarketMidnight(now), reason: 'day' };
  }
  if (state.recent.length >= limits.perMinute) {
    // The call that drops out of the window first frees the slot.
    const oldestCounted = state.recent[state.recent.length - limits.perMinute]!;
    return { allowed: false, retryAt: oldestCounted + MINUTE_MS, reason: 'minute' };
  }
  return { allowed: true };
}
