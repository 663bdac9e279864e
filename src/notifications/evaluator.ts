import type { Bus } from '../bus/bus.ts';
import type { Executor } from '../db/connect.ts';
import type { FreshPricesHook } from '../prices/prices.service.ts';
import type { Clock } from '../shared/clock.ts';
import { measureIndicators } from './live-indicators.ts';
import type { ClaimedAlert, NotificationsRepo } from './notifications.repo.ts';

export const DELIVERIES_CHANNEL = 'deliveries';
export const ALERTS_CHANNEL = 'alerts';

export interface AlertEvent {
  id: string;
  userId: string;
  notificationId: string;
  symbol: string;
  condition: string;
  threshold: number;
  price: number;
  priceAt: string;
  firedAt: string;
}

/**
 * Evaluates notifications on each symbol's newest fresh price, inside the ingest transaction (the
 * seed: "on each POST /stocks"). Prices older than `maxPriceAgeMs` are stored but never fire: an
 * alert about a price from last week is noise. After the commit it wakes the notifiers and tells
 * live dashboards.
 */
export function createEvaluator(deps: {
  repo: NotificationsRepo;
  bus: Bus;
  clock: Clock;
  maxPriceAgeMs: number;
  onFired?: (alerts: ClaimedAlert[]) => void;
}): FreshPricesHook {
  return async (tx: Executor, fresh) => {
    const now = deps.clock.now();
    const recent = fresh.filter((f) => now.getTime() - f.ts.getTime() <= deps.maxPriceAgeMs);
    const prices = recent.map((f) => ({
      symbol: f.symbol,
      price: f.price,
      previous: f.prevPrice,
      priceAt: f.ts,
    }));
    // One statement finds the level candidates and the (kind, variant) pairs of indicator rules on the
    // symbols; only symbols with such rules cost more: their metrics (one statement, holding only the
    // parts of the kinds found), then the range scans of the rules they fire.
    const { candidates, watched } = await deps.repo.findCandidates(tx, prices, [], { watch: true });
    if (watched.length > 0) {
      const indicators = await measureIndicators(tx, deps.repo, prices, watched);
      if (indicators.length > 0)
        candidates.push(...(await deps.repo.findCandidates(tx, [], indicators)).candidates);
    }
    const fired: ClaimedAlert[] = await deps.repo.claim(tx, candidates, now);
    if (fired.length === 0) return undefined;
    return () => {
      deps.onFired?.(fired);
      // A lost wake-up only costs latency: notifiers also sweep on a timer.
      deps.bus.publish(DELIVERIES_CHANNEL, { count: fired.length }).catch(() => {});
      for (const a of fired) {
        const event: AlertEvent = {
          id: a.alertId,
          userId: a.userId,
          notificationId: a.notificationId,
          symbol: a.symbol,
          condition: a.kind,
          threshold: a.threshold,
          price: a.price,
          priceAt: a.priceAt.toISOString(),
          firedAt: a.firedAt.toISOString(),
        };
        deps.bus.publish(ALERTS_CHANNEL, event).catch(() => {});
      }
    };
  };
}
