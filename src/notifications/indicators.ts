import type { ConditionKind, ConditionParams } from '../db/schema-notifications.ts';
import { addDays, marketDate, zonedTimeToUtc } from '../market-data/market-hours.ts';

/**
 * The indicator conditions, specified once. Live evaluation (evaluator.ts), the backtest (backtest.ts)
 * and the tests' naive model all reach a verdict through the functions of this file, so that the
 * floating-point arithmetic — and therefore every borderline case — is the same in all three.
 *
 * A "bar" is one stored price row (minute bars; hourly roll-ups count as bars too). A bar is judged
 * against the bars stored before it (strictly earlier timestamps); the bar itself is never part of its
 * own history.
 */

export const INDICATOR_KINDS = [
  'change_pct_from_close',
  'move_pct_within',
  'new_high_52w',
  'new_low_52w',
  'sma_cross',
  'volume_spike',
] as const satisfies readonly ConditionKind[];
export type IndicatorKind = (typeof INDICATOR_KINDS)[number];
export type Direction = NonNullable<ConditionParams['direction']>;

export const isIndicatorKind = (kind: string): kind is IndicatorKind =>
  (INDICATOR_KINDS as readonly string[]).includes(kind);

export interface Bar {
  /** Milliseconds since the epoch. */
  ts: number;
  price: number;
  volume: number;
  high: number | null;
  low: number | null;
}

// ---------------------------------------------------------------------------------------------------
// Time boundaries (New York calendar days, as GET /stocks computes the previous close)

const MINUTE_MS = 60_000;
/** 52 weeks. */
export const WEEKS_52_DAYS = 364;
/** A 52-week extreme needs a price from at least this many days before the current New York day. */
export const MIN_HISTORY_DAYS = 7;

const HOUR_MS = 3_600_000;
const midnights = new Map<string, number>();

/** Midnight in New York `days` calendar days before the New York day of `ts` (0: the day's own start). */
export function nyMidnightBefore(ts: number, days: number): number {
  // New York's offset is whole hours, so every instant of one UTC hour has the same New York date:
  // memoising by hour saves the Intl calls, which cost more than everything else per price.
  const key = `${Math.floor(ts / HOUR_MS)}:${days}`;
  let midnight = midnights.get(key);
  if (midnight === undefined) {
    const date = marketDate(ts);
    midnight = zonedTimeToUtc(`${days === 0 ? date : addDays(date, -days)} 00:00`).getTime();
    if (midnights.size > 50_000) midnights.clear();
    midnights.set(key, midnight);
  }
  return midnight;
}

// ---------------------------------------------------------------------------------------------------
// Arithmetic shared by every path

/** Percent change from `ref` to `price`. */
export const changePct = (price: number, ref: number) => ((price - ref) / ref) * 100;

/** The metric a direction compares with the threshold: either direction takes the larger move. */
export function directed(direction: Direction, up: number, down: number): number {
  return direction === 'up' ? up : direction === 'down' ? down : Math.max(up, down);
}

/** Mean of `values[from..to)`, summed oldest first (the order fixes the rounding). */
export function mean(values: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  return sum / (to - from);
}

/** The metrics each kind compares with `threshold` (fires when threshold <= metric). */
export const metric = {
  /** Signed change from the previous close, by direction: up = +%, down = −%. */
  changeFromClose: (direction: Direction, price: number, previousClose: number) => {
    const pct = changePct(price, previousClose);
    return directed(direction, pct, -pct);
  },
  /** Rise from the window's lowest price or fall from its highest, in %. */
  moveWithin: (direction: Direction, price: number, lowest: number, highest: number) =>
    directed(direction, changePct(price, lowest), ((highest - price) / highest) * 100),
  /** Volume relative to the mean volume of the previous bars; null when that mean is 0. */
  volumeRatio: (volume: number, meanVolume: number) => (meanVolume > 0 ? volume / meanVolume : null),
};

/** The verdict: the one comparison every path makes. */
export const fires = (threshold: number, value: number | null) => value !== null && threshold <= value;

/**
 * Kinds without a threshold (52-week extremes, SMA crossings) are events: their metric is 1 when the
 * event happened and null otherwise, and their stored threshold is 0.
 */
export const EVENT = 1;

/** Whether the fast SMA crossed the slow one at bar `i` of `prices` (needs `slow + 1` bars up to i). */
export function smaCrossed(
  prices: ArrayLike<number>,
  i: number,
  fast: number,
  slow: number,
  direction: 'up' | 'down',
): boolean {
  if (i < slow) return false;
  const fastNow = mean(prices, i + 1 - fast, i + 1);
  const slowNow = mean(prices, i + 1 - slow, i + 1);
  const fastPrev = mean(prices, i - fast, i);
  const slowPrev = mean(prices, i - slow, i);
  return direction === 'up'
    ? fastPrev <= slowPrev && fastNow > slowNow
    : fastPrev >= slowPrev && fastNow < slowNow;
}

// ---------------------------------------------------------------------------------------------------
// Variants: the parameters that change a rule's metric, as one key for the index

/** The canonical key of a rule's parameters: rules sharing it share one metric per price. */
export function variantOf(kind: IndicatorKind, p: ConditionParams): string {
  switch (kind) {
    case 'change_pct_from_close':
      return `${p.direction}`;
    case 'move_pct_within':
      return `w${p.window_minutes}:${p.direction}`;
    case 'new_high_52w':
    case 'new_low_52w':
      return '52w';
    case 'sma_cross':
      return `f${p.fast}s${p.slow}:${p.direction}`;
    case 'volume_spike':
      return `n${p.periods}`;
  }
}

/** The inverse of `variantOf`. */
export function paramsOf(kind: IndicatorKind, variant: string): Required<ConditionParams> | ConditionParams {
  const [head = '', direction] = variant.split(':') as [string, Direction | undefined];
  switch (kind) {
    case 'change_pct_from_close':
      return { direction: head as Direction };
    case 'move_pct_within':
      return { window_minutes: Number(head.slice(1)), direction: direction! };
    case 'new_high_52w':
    case 'new_low_52w':
      return {};
    case 'sma_cross': {
      const [, fast, slow] = /^f(\d+)s(\d+)$/.exec(head) ?? [];
      return { fast: Number(fast), slow: Number(slow), direction: direction! };
    }
    case 'volume_spike':
      return { periods: Number(head.slice(1)) };
  }
}

// ---------------------------------------------------------------------------------------------------
// The naive specification: the metric of bar i of a whole series, straight from the definitions

/**
 * The metric of a rule at bar `i` of `bars` (sorted by time), or null when the kind cannot judge it
 * (not enough history). O(i): the definition, not the fast path; tests and the model use it.
 */
export function naiveMetric(kind: IndicatorKind, p: ConditionParams, bars: readonly Bar[], i: number) {
  const bar = bars[i]!;
  switch (kind) {
    case 'change_pct_from_close': {
      // The previous session's close: the last price before the New York day of this one began.
      const dayStart = nyMidnightBefore(bar.ts, 0);
      for (let j = i - 1; j >= 0; j--)
        if (bars[j]!.ts < dayStart) return metric.changeFromClose(p.direction!, bar.price, bars[j]!.price);
      return null;
    }
    case 'move_pct_within': {
      const from = bar.ts - p.window_minutes! * MINUTE_MS;
      let lowest = Infinity;
      let highest = -Infinity;
      for (let j = i - 1; j >= 0 && bars[j]!.ts >= from; j--) {
        lowest = Math.min(lowest, bars[j]!.price);
        highest = Math.max(highest, bars[j]!.price);
      }
      return lowest === Infinity ? null : metric.moveWithin(p.direction!, bar.price, lowest, highest);
    }
    case 'new_high_52w':
    case 'new_low_52w': {
      const from = nyMidnightBefore(bar.ts, WEEKS_52_DAYS);
      const enough = nyMidnightBefore(bar.ts, MIN_HISTORY_DAYS - 1);
      let high = -Infinity;
      let low = Infinity;
      let oldest = Infinity;
      for (let j = i - 1; j >= 0 && bars[j]!.ts >= from; j--) {
        high = Math.max(high, bars[j]!.high ?? bars[j]!.price);
        low = Math.min(low, bars[j]!.low ?? bars[j]!.price);
        oldest = bars[j]!.ts;
      }
      return extremeEvent(kind, bar.price, { high, low, oldest }, enough);
    }
    case 'sma_cross': {
      const prices = bars.slice(0, i + 1).map((b) => b.price);
      return smaCrossed(prices, i, p.fast!, p.slow!, p.direction as 'up' | 'down') ? EVENT : null;
    }
    case 'volume_spike': {
      const n = p.periods!;
      if (i < n) return null;
      const volumes = bars.slice(i - n, i).map((b) => b.volume);
      return metric.volumeRatio(bar.volume, mean(volumes, 0, n));
    }
  }
}

/**
 * A new 52-week high (low): strictly above the highest high (below the lowest low) of the window, and
 * the window reaches back far enough (a price before `enough`) to call it a 52-week extreme at all.
 */
export function extremeEvent(
  kind: 'new_high_52w' | 'new_low_52w',
  price: number,
  window: { high: number; low: number; oldest: number },
  enough: number,
): number | null {
  if (!(window.oldest < enough)) return null;
  if (kind === 'new_high_52w') return price > window.high ? EVENT : null;
  return price < window.low ? EVENT : null;
}

/** How many bars before the current one a variant needs (the rest are found by time). */
export function barsNeeded(kind: IndicatorKind, p: ConditionParams): number {
  if (kind === 'sma_cross') return p.slow!;
  if (kind === 'volume_spike') return p.periods!;
  return 0;
}
