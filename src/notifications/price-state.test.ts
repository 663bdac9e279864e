import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PriceRow } from '../prices/prices.repo.ts';
import {
  type Bar,
  type IndicatorKind,
  naiveMetric,
  nyMidnightBefore,
  paramsOf,
  WEEKS_52_DAYS,
} from './indicators.ts';
import {
  advance,
  covers,
  type Extremes,
  longestWindow,
  metricAt,
  needsOf,
  type PriceState,
  type StateNeeds,
  stateFromBars,
  type WatchedVariant,
} from './price-state.ts';

/**
 * The state the evaluator keeps must give, bar after bar, exactly the metric of the specification
 * (`naiveMetric`, which looks at the whole series): across New York days, windows that slide, bars
 * trimmed, and states read afresh whenever moving forward is not enough.
 */

const VARIANTS: WatchedVariant[] = [
  ...['up', 'down', 'either'].map((d) => ({ kind: 'change_pct_from_close' as const, variant: d })),
  ...[5, 60, 1440].flatMap((w) =>
    ['up', 'down', 'either'].map((d) => ({ kind: 'move_pct_within' as const, variant: `w${w}:${d}` })),
  ),
  { kind: 'new_high_52w', variant: '52w' },
  { kind: 'new_low_52w', variant: '52w' },
  { kind: 'sma_cross', variant: 'f2s5:up' },
  { kind: 'sma_cross', variant: 'f3s7:down' },
  { kind: 'volume_spike', variant: 'n3' },
  { kind: 'volume_spike', variant: 'n10' },
];

/** What `priceStates` in notifications.repo.ts reads from the database, computed on the series. */
function readState(bars: readonly Bar[], i: number, needs: StateNeeds, revision: string): PriceState {
  const at = bars[i]!.ts;
  const dayStart = nyMidnightBefore(at, 0);
  const from52 = nyMidnightBefore(at, WEEKS_52_DAYS);
  const nth = i + 1 - needs.bars;
  const since = nth < 0 ? Number.NEGATIVE_INFINITY : Math.min(bars[nth]!.ts, at - longestWindow(needs));
  const held = bars.slice(0, i + 1).filter((b) => b.ts >= since);
  const extremes = (from: number, to: number): Extremes | null => {
    const inside = bars.slice(0, i + 1).filter((b) => b.ts >= from && b.ts < to);
    if (inside.length === 0) return null;
    return {
      high: Math.max(...inside.map((b) => b.high ?? b.price)),
      low: Math.min(...inside.map((b) => b.low ?? b.price)),
      oldest: inside[0]!.ts,
    };
  };
  const today = extremes(dayStart, at);
  const price = bars[i]!.price;
  const wantYear = needs.year && (today === null || price > today.high || price < today.low);
  return stateFromBars(
    {
      day: dayStart,
      ts: held.map((b) => b.ts),
      price: held.map((b) => b.price),
      volume: held.map((b) => b.volume),
      high: held.map((b) => b.high ?? b.price),
      low: held.map((b) => b.low ?? b.price),
      since,
      previousClose: bars.slice(0, i).findLast((b) => b.ts < dayStart)?.price ?? null,
      today,
      year: wantYear ? extremes(from52, dayStart) : undefined,
    },
    { revision, history: null },
    needs,
  );
}

const bar = fc.record({
  gapMinutes: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 60, max: 3000 })),
  price: fc.integer({ min: 90, max: 110 }),
  volume: fc.integer({ min: 0, max: 1000 }),
  spread: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
});

/** Without a 52-week kind, a new day moves the state forward instead of reading the year. */
const WITHOUT_52W = VARIANTS.filter((v) => !v.kind.startsWith('new_'));

describe('the state kept per symbol', () => {
  it.each([
    ['every kind', VARIANTS],
    ['no 52-week kind', WITHOUT_52W],
  ])('gives the specification’s metric at every bar, moving forward or read afresh (%s)', (_, variants) => {
    fc.assert(
      fc.property(
        fc.array(bar, { minLength: 2, maxLength: 150 }),
        fc.integer({ min: 0, max: 20 }),
        (points, firstRead) => {
          let ts = Date.parse('2025-01-06T14:30:00Z');
          const bars: Bar[] = points.map((p) => {
            ts += p.gapMinutes * 60_000;
            return {
              ts,
              price: p.price,
              volume: p.volume,
              high: p.spread === null ? null : p.price + p.spread,
              low: p.spread === null ? null : p.price - p.spread,
            };
          });
          const needs = needsOf(variants);
          const start = Math.min(firstRead, bars.length - 1);
          let state = readState(bars, start, needs, String(start));
          let reads = 1;
          for (let i = start; i < bars.length; i++) {
            if (i > start) {
              const b = bars[i]!;
              const row: PriceRow = { symbol: 'X', open: null, ...b };
              const moved = advance(
                state,
                { revision: String(i), prevRevision: String(i - 1), history: null, bars: [row] },
                needs,
              );
              if (!moved || !covers(state, needs)) {
                state = readState(bars, i, needs, String(i));
                reads++;
              }
            }
            expect(covers(state, needs)).toBe(true);
            for (const { kind, variant } of variants)
              expect({ i, kind, variant, metric: metricAt(state, kind, variant) }).toEqual({
                i,
                kind,
                variant,
                metric: naiveMetric(kind as IndicatorKind, paramsOf(kind, variant), bars, i),
              });
          }
          // Moving forward is the rule, reading the exception (first price of a day beyond its range).
          expect(reads).toBeLessThanOrEqual(1 + bars.length - start);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is not moved forward past a revision it did not see, nor by a bar older than its newest', () => {
    const bars: Bar[] = [0, 1, 2].map((m) => ({
      ts: m * 60_000,
      price: 100,
      volume: 1,
      high: null,
      low: null,
    }));
    const needs = needsOf(VARIANTS);
    const state = readState(bars, 1, needs, '7');
    const row = (b: Bar): PriceRow => ({ symbol: 'X', open: null, ...b });
    expect(
      advance(state, { revision: '9', prevRevision: '8', history: null, bars: [row(bars[2]!)] }, needs),
    ).toBe(false);
    expect(
      advance(state, { revision: '9', prevRevision: null, history: null, bars: [row(bars[2]!)] }, needs),
    ).toBe(false);
    expect(
      advance(state, { revision: '8', prevRevision: '7', history: null, bars: [row(bars[0]!)] }, needs),
    ).toBe(false);
    expect(state.revision).toBe('7');
    expect(
      advance(state, { revision: '8', prevRevision: '7', history: null, bars: [row(bars[2]!)] }, needs),
    ).toBe(true);
    expect(state.revision).toBe('8');
  });
});
