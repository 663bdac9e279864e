import type { ConditionKind, ConditionParams } from '../db/schema-notifications.ts';
import { conditionHolds, describeCondition, type LevelKind } from './conditions.ts';
import {
  type Bar,
  changePct,
  EVENT,
  extremeEvent,
  fires,
  isIndicatorKind,
  MIN_HISTORY_DAYS,
  mean,
  metric,
  nyMidnightBefore,
  smaCrossed,
  WEEKS_52_DAYS,
} from './indicators.ts';

export interface BacktestRule {
  kind: ConditionKind;
  threshold: number;
  params: ConditionParams;
  cooldownMinutes: number;
  once: boolean;
}

export interface Firing {
  ts: number;
  price: number;
  detail: string;
}

/**
 * One pass over a symbol's bars (sorted by time, with whatever history before `start` the rule looks
 * back on): judges each bar of [start, end) as live evaluation judges a fresh price — the same metrics
 * from indicators.ts, against the bars before it — then applies the cooldown (on price time) and the
 * trigger (`once`: the first firing only). Sliding windows keep it O(bars), except the SMA, whose means
 * are summed afresh per bar so that their rounding is exactly the live one (O(bars × slow)).
 */
export function runBacktest(rule: BacktestRule, bars: readonly Bar[], start: number, end: number) {
  const judge = judgeFor(rule, bars);
  const firings: Firing[] = [];
  let nextEligible = -Infinity;
  let evaluated = 0;
  for (let i = 0; i < bars.length; i++) {
    const bar = bars[i]!;
    const inRange = bar.ts >= start && bar.ts < end;
    // Bars before the range still feed the sliding windows.
    const detail = judge(i, inRange && bar.ts >= nextEligible);
    if (!inRange) continue;
    evaluated++;
    if (detail === undefined || bar.ts < nextEligible) continue;
    firings.push({ ts: bar.ts, price: bar.price, detail });
    nextEligible = bar.ts + rule.cooldownMinutes * 60_000;
    if (rule.once) nextEligible = Infinity;
  }
  return { firings, evaluated };
}

/** Memoises New York day boundaries: Intl is slow, and consecutive bars share their day. */
function dayCache() {
  let from = Infinity;
  let until = -Infinity;
  let values: { dayStart: number; from52: number; enough: number } | undefined;
  return (ts: number) => {
    if (!values || ts < from || ts >= until) {
      from = nyMidnightBefore(ts, 0);
      until = nyMidnightBefore(ts, -1);
      values = {
        dayStart: from,
        from52: nyMidnightBefore(ts, WEEKS_52_DAYS),
        enough: nyMidnightBefore(ts, MIN_HISTORY_DAYS - 1),
      };
    }
    return values;
  };
}

/** A monotonic deque over bar indices: the window's extreme in O(1) amortised. */
function extremeDeque(value: (j: number) => number, better: (a: number, b: number) => boolean) {
  const q: number[] = [];
  let head = 0;
  return {
    push(j: number) {
      while (q.length > head && !better(value(q[q.length - 1]!), value(j))) q.pop();
      q.push(j);
    },
    dropBefore(j: number) {
      while (q.length > head && q[head]! < j) head++;
    },
    /** The extreme, or undefined when the window is empty. */
    get: () => (q.length > head ? value(q[head]!) : undefined),
  };
}

const fmt = (n: number) => Number(n.toFixed(4)).toString();
const pct = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}%`;

/**
 * Returns judge(i, wanted): the detail of a firing at bar i, or undefined. It must be called for every
 * i in order (the windows slide); `wanted` = false skips the work of a verdict nobody will use.
 */
function judgeFor(
  rule: BacktestRule,
  bars: readonly Bar[],
): (i: number, wanted: boolean) => string | undefined {
  const { kind, threshold, params: p } = rule;
  if (!isIndicatorKind(kind)) {
    const text = describeCondition(kind, threshold);
    return (i) => {
      const previous = i > 0 ? bars[i - 1]!.price : null;
      return conditionHolds(kind as LevelKind, threshold, bars[i]!.price, previous)
        ? `${fmt(bars[i]!.price)}: ${text}`
        : undefined;
    };
  }
  const days = dayCache();
  switch (kind) {
    case 'change_pct_from_close': {
      let dayStart = -Infinity;
      let close: number | undefined;
      return (i) => {
        const bar = bars[i]!;
        const day = days(bar.ts).dayStart;
        if (day !== dayStart) {
          dayStart = day;
          // The last bar before the day began: bars are sorted, so it is the one just before the day's first.
          close = i > 0 ? bars[i - 1]!.price : undefined;
        }
        if (close === undefined) return undefined;
        const value = metric.changeFromClose(p.direction!, bar.price, close);
        return fires(threshold, value)
          ? `${pct(changePct(bar.price, close))} from the previous close ${fmt(close)}`
          : undefined;
      };
    }
    case 'move_pct_within': {
      const windowMs = p.window_minutes! * 60_000;
      const lows = extremeDeque(
        (j) => bars[j]!.price,
        (a, b) => a < b,
      );
      const highs = extremeDeque(
        (j) => bars[j]!.price,
        (a, b) => a > b,
      );
      return (i) => {
        const bar = bars[i]!;
        if (i > 0) {
          lows.push(i - 1);
          highs.push(i - 1);
        }
        // The window holds the bars of [ts − window, ts).
        const first = lowerBound(bars, bar.ts - windowMs, i);
        lows.dropBefore(first);
        highs.dropBefore(first);
        const lowest = lows.get();
        const highest = highs.get();
        if (lowest === undefined || highest === undefined) return undefined;
        const value = metric.moveWithin(p.direction!, bar.price, lowest, highest);
        if (!fires(threshold, value)) return undefined;
        const up = changePct(bar.price, lowest);
        const down = ((highest - bar.price) / highest) * 100;
        return up >= down && p.direction !== 'down'
          ? `${pct(up)} from the low ${fmt(lowest)} within ${p.window_minutes} min`
          : `${pct(-down)} from the high ${fmt(highest)} within ${p.window_minutes} min`;
      };
    }
    case 'new_high_52w':
    case 'new_low_52w': {
      const high = (j: number) => bars[j]!.high ?? bars[j]!.price;
      const low = (j: number) => bars[j]!.low ?? bars[j]!.price;
      const highs = extremeDeque(high, (a, b) => a > b);
      const lows = extremeDeque(low, (a, b) => a < b);
      return (i) => {
        const bar = bars[i]!;
        if (i > 0) {
          highs.push(i - 1);
          lows.push(i - 1);
        }
        const { from52, enough } = days(bar.ts);
        const first = lowerBound(bars, from52, i);
        highs.dropBefore(first);
        lows.dropBefore(first);
        const h = highs.get();
        const l = lows.get();
        if (h === undefined || l === undefined) return undefined;
        const event = extremeEvent(kind, bar.price, { high: h, low: l, oldest: bars[first]!.ts }, enough);
        if (event !== EVENT) return undefined;
        return kind === 'new_high_52w'
          ? `above the 52-week high ${fmt(h)}`
          : `below the 52-week low ${fmt(l)}`;
      };
    }
    case 'sma_cross': {
      const prices = Float64Array.from(bars, (b) => b.price);
      const direction = p.direction as 'up' | 'down';
      return (i, wanted) => {
        if (!wanted || !smaCrossed(prices, i, p.fast!, p.slow!, direction)) return undefined;
        return `SMA ${p.fast} ${fmt(mean(prices, i + 1 - p.fast!, i + 1))} crossed ${direction === 'up' ? 'above' : 'below'} SMA ${p.slow} ${fmt(mean(prices, i + 1 - p.slow!, i + 1))}`;
      };
    }
    case 'volume_spike': {
      const n = p.periods!;
      // Volumes are whole numbers: a running sum is exact, so it equals the live sum whatever the order.
      let sum = 0;
      return (i) => {
        if (i > n) sum -= bars[i - n - 1]!.volume;
        if (i > 0) sum += bars[i - 1]!.volume;
        if (i < n) return undefined;
        const average = sum / n;
        const value = metric.volumeRatio(bars[i]!.volume, average);
        return fires(threshold, value)
          ? `volume ${bars[i]!.volume} = ${value!.toFixed(2)}× the ${n}-bar average ${fmt(average)}`
          : undefined;
      };
    }
  }
}

/** The first index j <= i with bars[j].ts >= ts (binary search). */
function lowerBound(bars: readonly Bar[], ts: number, i: number): number {
  let lo = 0;
  let hi = i;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bars[mid]!.ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
