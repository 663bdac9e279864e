import type { PriceRow } from '../prices/prices.repo.ts';
import {
  EVENT,
  extremeEvent,
  type IndicatorKind,
  MIN_HISTORY_DAYS,
  mean,
  metric,
  nyMidnightBefore,
  paramsOf,
  smaCrossed,
  WEEKS_52_DAYS,
} from './indicators.ts';

/**
 * What the evaluator keeps in memory about one symbol's prices, so that an indicator's metric costs no
 * statement: the newest bars (as many as the symbol's rules look back), the previous session's close
 * and the extremes of the 52 weeks. It is the state of the stored bars at one `symbols.revision`; the
 * ingest statement says which revision it replaced, so a state is advanced with that statement's own
 * rows only when nothing else was written in between; with the newer bars read from the database when
 * others stored only newer prices (`history` unchanged: another server taking turns); and is read
 * again otherwise (a late price, a rolled-back transaction).
 *
 * The metrics are computed by the functions of indicators.ts on the same bars in the same order as
 * the specification, the backtest and the tests' model: the same floating-point results.
 */
export interface PriceState {
  revision: string;
  /** `symbols.history` at `revision`: while unchanged, every price stored since is newer than the newest held. */
  history: string | null;
  /**
   * The revision this state was moved to in place by a transaction not known to have committed yet:
   * such a state may hold a bar that was rolled back, so it is never caught up by reading newer bars.
   */
  pending: string | null;
  /** New York start of the newest bar's day. */
  day: number;
  /** The newest bars, oldest first, in parallel arrays (high/low fall back to the price). */
  ts: number[];
  price: number[];
  volume: number[];
  high: number[];
  low: number[];
  /** Every stored bar with ts >= since is in the arrays (−∞: every bar of the symbol is). */
  since: number;
  /** Per window length (ms) of the move rules: lowest and highest price of [newest − window, newest). */
  windows: Map<number, WindowExtremes>;
  /** The last price before `day`. */
  previousClose: number | null;
  /** Extremes of the bars of `day` before the newest; null when it is the day's first. */
  today: Extremes | null;
  /**
   * Extremes of [52 weeks before `day`, `day`); null when there are none, undefined when not read: only
   * a price beyond today's range needs them (otherwise it cannot be beyond the year's either).
   */
  year: Extremes | null | undefined;
}

export interface Extremes {
  high: number;
  low: number;
  oldest: number;
}

/** What the rules of a symbol need the state to hold. */
export interface StateNeeds {
  /** Bars up to and including the newest (an SMA of n bars needs n + 1 to see a crossing). */
  bars: number;
  /** The distinct windows of the move rules, in ms. */
  windows: number[];
  /** Whether a 52-week kind is watched (the year's extremes may be read). */
  year: boolean;
}

export interface WatchedVariant {
  kind: IndicatorKind;
  variant: string;
}

const MINUTE_MS = 60_000;

export function needsOf(variants: readonly WatchedVariant[]): StateNeeds {
  const needs: StateNeeds = { bars: 1, windows: [], year: false };
  for (const { kind, variant } of variants) {
    const p = paramsOf(kind, variant);
    if (kind === 'sma_cross') needs.bars = Math.max(needs.bars, p.slow! + 1);
    else if (kind === 'volume_spike') needs.bars = Math.max(needs.bars, p.periods! + 1);
    else if (kind === 'move_pct_within') {
      const ms = p.window_minutes! * MINUTE_MS;
      if (!needs.windows.includes(ms)) needs.windows.push(ms);
    } else if (kind === 'new_high_52w' || kind === 'new_low_52w') needs.year = true;
  }
  return needs;
}

/** How far back the bars read for a state must reach: the longest window. */
export const longestWindow = (needs: StateNeeds) => Math.max(0, ...needs.windows);

const newestOf = (s: PriceState) => s.ts.length - 1;

/** Whether the state can answer every variant of `needs` at its newest bar without reading more. */
export function covers(s: PriceState, needs: StateNeeds): boolean {
  const last = newestOf(s);
  if (last < 0) return false;
  if (s.ts.length < needs.bars && s.since !== Number.NEGATIVE_INFINITY) return false;
  if (needs.windows.some((w) => !s.windows.has(w))) return false;
  if (needs.year && s.year === undefined) {
    const price = s.price[last]!;
    // Within today's range the year is never needed; beyond it (or on the day's first bar) it is.
    if (s.today === null || price > s.today.high || price < s.today.low) return false;
  }
  return true;
}

/**
 * A state read from the database: the bars (every bar since `since`, up to the newest), with the
 * windows of `needs` built from them, then trimmed to the bars the rules count back.
 */
export function stateFromBars(
  read: Omit<PriceState, 'revision' | 'history' | 'pending' | 'windows'>,
  at: { revision: string; history: string | null },
  needs: StateNeeds,
): PriceState {
  const s: PriceState = {
    ...read,
    revision: at.revision,
    history: at.history,
    pending: null,
    windows: new Map(),
  };
  const last = newestOf(s);
  for (const w of needs.windows) {
    const window = new WindowExtremes();
    for (let j = 0; j < last; j++) if (s.ts[j]! >= s.ts[last]! - w) window.push(s.ts[j]!, s.price[j]!);
    s.windows.set(w, window);
  }
  trim(s, needs.bars);
  return s;
}

/**
 * Moves the state forward by a statement that replaced `prevRevision` with `revision` and inserted
 * `bars` (oldest first); false when it cannot (another write came in between, or a bar is not newer
 * than the newest held), and then the state must be read again.
 *
 * It changes the state in place, before the transaction commits. That is safe because revisions come
 * from a sequence and are never reused: if the transaction rolls back, no later statement will ever
 * say it replaced this revision, so the state is never advanced again; it stays `pending` (the caller
 * clears that once committed), so it is not caught up either, and gets read afresh.
 */
export function advance(
  s: PriceState,
  change: {
    revision: string;
    prevRevision: string | null;
    history: string | null;
    bars: ReadonlyArray<Omit<PriceRow, 'symbol' | 'open'>>;
  },
  needs: StateNeeds,
): boolean {
  if (change.prevRevision === null || s.revision !== change.prevRevision) return false;
  let last = newestOf(s);
  if (last < 0 || change.bars.length === 0 || change.bars[0]!.ts <= s.ts[last]!) return false;
  s.revision = change.revision;
  s.history = change.history;
  s.pending = change.revision;
  for (const bar of change.bars) {
    const day = nyMidnightBefore(bar.ts, 0);
    if (day !== s.day) {
      // A new New York day: the bar before it closed the previous session; the year moves on.
      s.previousClose = s.price[last]!;
      s.today = null;
      s.year = undefined;
      s.day = day;
    } else {
      s.today = widen(s.today, s.high[last]!, s.low[last]!, s.ts[last]!);
    }
    // The newest bar becomes history: it enters every window, and what is now too old leaves.
    for (const [w, window] of s.windows) {
      window.push(s.ts[last]!, s.price[last]!);
      window.evictBefore(bar.ts - w);
    }
    s.ts.push(bar.ts);
    s.price.push(bar.price);
    s.volume.push(bar.volume);
    s.high.push(bar.high ?? bar.price);
    s.low.push(bar.low ?? bar.price);
    last++;
  }
  // Trimmed in steps, not on every bar: dropping one bar moves every other.
  if (s.ts.length > 2 * needs.bars + 64) trim(s, needs.bars);
  return true;
}

/** Keeps the newest `keep` bars. */
function trim(s: PriceState, keep: number): void {
  const drop = s.ts.length - keep;
  if (drop <= 0) return;
  // Every bar after the last one dropped is still held (timestamps are whole milliseconds).
  s.since = s.ts[drop - 1]! + 1;
  for (const column of [s.ts, s.price, s.volume, s.high, s.low]) column.splice(0, drop);
}

/**
 * The lowest and highest price of a sliding window, in O(1) amortised per bar: two monotonic queues
 * (a bar that a later, lower bar outlives can never be the lowest again).
 */
export class WindowExtremes {
  private readonly lows = new MonotonicQueue((a, b) => a <= b);
  private readonly highs = new MonotonicQueue((a, b) => a >= b);
  push(ts: number, price: number): void {
    this.lows.push(ts, price);
    this.highs.push(ts, price);
  }
  evictBefore(ts: number): void {
    this.lows.evictBefore(ts);
    this.highs.evictBefore(ts);
  }
  /** Null when the window holds no bar. */
  extremes(): { lowest: number; highest: number } | null {
    const lowest = this.lows.front();
    const highest = this.highs.front();
    return lowest === undefined || highest === undefined ? null : { lowest, highest };
  }
}

class MonotonicQueue {
  private ts: number[] = [];
  private value: number[] = [];
  private head = 0;
  /** `keeps(a, b)`: a value a stays in front of a newer value b. */
  constructor(private readonly keeps: (a: number, b: number) => boolean) {}
  push(ts: number, value: number): void {
    while (this.value.length > this.head && !this.keeps(this.value[this.value.length - 1]!, value)) {
      this.value.pop();
      this.ts.pop();
    }
    this.ts.push(ts);
    this.value.push(value);
  }
  evictBefore(ts: number): void {
    while (this.head < this.ts.length && this.ts[this.head]! < ts) this.head++;
    if (this.head > 1024 && this.head * 2 > this.ts.length) {
      this.ts = this.ts.slice(this.head);
      this.value = this.value.slice(this.head);
      this.head = 0;
    }
  }
  front(): number | undefined {
    return this.head < this.value.length ? this.value[this.head] : undefined;
  }
}

function widen(e: Extremes | null, high: number, low: number, ts: number): Extremes {
  if (e === null) return { high, low, oldest: ts };
  return { high: Math.max(e.high, high), low: Math.min(e.low, low), oldest: Math.min(e.oldest, ts) };
}

/**
 * A variant's metric at the state's newest bar (fires when threshold <= metric), or null when it cannot
 * judge it: the same definitions as `naiveMetric` in indicators.ts, on the bars held.
 */
export function metricAt(s: PriceState, kind: IndicatorKind, variant: string): number | null {
  const p = paramsOf(kind, variant);
  const last = newestOf(s);
  const at = s.ts[last]!;
  const price = s.price[last]!;
  switch (kind) {
    case 'change_pct_from_close':
      return s.previousClose === null ? null : metric.changeFromClose(p.direction!, price, s.previousClose);
    case 'move_pct_within': {
      const window = s.windows.get(p.window_minutes! * MINUTE_MS)?.extremes();
      return window ? metric.moveWithin(p.direction!, price, window.lowest, window.highest) : null;
    }
    case 'new_high_52w':
    case 'new_low_52w': {
      // Not read: the price is within today's range, so it is no 52-week extreme (see `covers`).
      if (s.year === undefined) return null;
      const window = s.year === null ? s.today : s.today === null ? s.year : combine(s.year, s.today);
      if (window === null) return null;
      return extremeEvent(kind, price, window, nyMidnightBefore(at, MIN_HISTORY_DAYS - 1));
    }
    case 'sma_cross':
      return smaCrossed(s.price, last, p.fast!, p.slow!, p.direction as 'up' | 'down') ? EVENT : null;
    case 'volume_spike': {
      const n = p.periods!;
      if (last < n) return null;
      return metric.volumeRatio(s.volume[last]!, mean(s.volume, last - n, last));
    }
  }
}

/** The year's and today's extremes together; the oldest bar is the year's when it has one. */
function combine(year: Extremes, today: Extremes): Extremes {
  return {
    high: Math.max(year.high, today.high),
    low: Math.min(year.low, today.low),
    oldest: Math.min(year.oldest, today.oldest),
  };
}

/** The boundaries of a state read from the database at its newest bar `at`. */
export function stateRequest(at: number, needs: StateNeeds) {
  return {
    dayStart: nyMidnightBefore(at, 0),
    from52: nyMidnightBefore(at, WEEKS_52_DAYS),
    windowFrom: at - longestWindow(needs),
  };
}
