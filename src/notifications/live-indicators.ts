import type { Executor } from '../db/connect.ts';
import {
  EVENT,
  extremeEvent,
  MIN_HISTORY_DAYS,
  mean,
  metric,
  nyMidnightBefore,
  paramsOf,
  smaCrossed,
  WEEKS_52_DAYS,
} from './indicators.ts';
import type {
  FreshPrice,
  IndicatorInputs,
  IndicatorMetric,
  NotificationsRepo,
  WatchedVariant,
} from './notifications.repo.ts';

/**
 * The indicator metrics of each fresh price, computed once per symbol and variant, only for the
 * (kind, variant) pairs that armed rules watch (found with the level candidates): one statement fetches
 * what they need from the symbol's history (notifications.repo.ts), and each metric is computed with the
 * same functions as the specification (indicators.ts). The claim then range-scans `threshold <= metric`.
 */
export async function measureIndicators(
  tx: Executor,
  repo: NotificationsRepo,
  prices: FreshPrice[],
  watched: WatchedVariant[],
): Promise<IndicatorMetric[]> {
  if (prices.length === 0 || watched.length === 0) return [];
  const bySymbol = new Map(prices.map((p) => [p.symbol, p]));
  const inputs = await repo.indicatorInputs(
    tx,
    prices.map((p) => ({
      symbol: p.symbol,
      at: p.priceAt,
      dayStart: new Date(nyMidnightBefore(p.priceAt.getTime(), 0)),
      from52: new Date(nyMidnightBefore(p.priceAt.getTime(), WEEKS_52_DAYS)),
      price: p.price,
    })),
    watched,
  );
  // The newest bars come once per symbol (on one of its rows); every SMA and volume variant uses them.
  const recent = new Map(inputs.filter((i) => i.recent.length > 0).map((i) => [i.symbol, i.recent]));
  const metrics: IndicatorMetric[] = [];
  for (const input of inputs) {
    const price = bySymbol.get(input.symbol)!;
    const value = metricOf(price, { ...input, recent: recent.get(input.symbol) ?? [] });
    if (value !== null)
      metrics.push({
        symbol: input.symbol,
        kind: input.kind,
        variant: input.variant,
        metric: value,
        price: price.price,
        priceAt: price.priceAt,
      });
  }
  return metrics;
}

function metricOf(price: FreshPrice, input: IndicatorInputs): number | null {
  const { kind } = input;
  const p = paramsOf(kind, input.variant);
  switch (kind) {
    case 'change_pct_from_close':
      return input.previousClose === null
        ? null
        : metric.changeFromClose(p.direction!, price.price, input.previousClose);
    case 'move_pct_within':
      return input.window
        ? metric.moveWithin(p.direction!, price.price, input.window.lowest, input.window.highest)
        : null;
    case 'new_high_52w':
    case 'new_low_52w':
      return input.extremes
        ? extremeEvent(
            kind,
            price.price,
            input.extremes,
            nyMidnightBefore(price.priceAt.getTime(), MIN_HISTORY_DAYS - 1),
          )
        : null;
    case 'sma_cross': {
      const prices = input.recent.map((b) => b.price);
      return smaCrossed(prices, prices.length - 1, p.fast!, p.slow!, p.direction as 'up' | 'down')
        ? EVENT
        : null;
    }
    case 'volume_spike': {
      const n = p.periods!;
      const last = input.recent.length - 1;
      if (last < n) return null;
      const volumes = input.recent.slice(last - n, last).map((b) => b.volume);
      return metric.volumeRatio(input.recent[last]!.volume, mean(volumes, 0, n));
    }
  }
}
