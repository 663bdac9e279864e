import type { ClientStatus } from '../market-data/client-status.schemas.ts';
import type { DeliveryBacklog } from './metrics.repo.ts';
import type { Metrics } from './metrics.ts';

const DAY_MS = 24 * 3600_000;

/**
 * Gauges read when Prometheus scrapes: live streams of this process, the delivery backlog (shared by
 * the whole deployment, so every server reports the same value: aggregate with max()), and what each
 * market-data client last reported about its provider quota.
 */
export function registerScrapeGauges(
  metrics: Metrics,
  deps: {
    sseClients: () => number;
    deliveryBacklog: () => Promise<DeliveryBacklog>;
    /** The clients' last reports (POST /client-status). */
    clients: () => Promise<ClientStatus[]>;
    now: () => Date;
    /** Clients not heard from for this long are left out (their series end). Default a day. */
    clientStaleAfterMs?: number;
  },
) {
  const sse = metrics.gauge('stockwatch_sse_clients', 'Open live streams (GET /events) on this process');
  metrics.onScrape('sse', async () => sse.set(deps.sseClients()));

  const pending = metrics.gauge(
    'stockwatch_deliveries_pending',
    'Deliveries not yet sent nor given up (deployment-wide; read from the database)',
  );
  const oldest = metrics.gauge(
    'stockwatch_deliveries_oldest_pending_age_seconds',
    'Age of the alert behind the oldest delivery due now; 0 when none is due (quiet hours and grouping hold on purpose)',
  );
  metrics.onScrape('deliveries', async () => {
    pending.reset();
    oldest.reset();
    const backlog = await deps.deliveryBacklog();
    pending.set(backlog.pending);
    oldest.set(backlog.oldestAgeSeconds);
  });

  const labels = ['client_id', 'provider', 'window'] as const;
  const remaining = metrics.gauge(
    'stockwatch_provider_quota_remaining',
    'Provider calls left in the window (day or minute), as the client last reported',
    labels,
  );
  const limit = metrics.gauge(
    'stockwatch_provider_quota_limit',
    'Provider calls allowed per window (day or minute); no day series for plans without a daily cap',
    labels,
  );
  const used = metrics.gauge(
    'stockwatch_provider_calls',
    'Provider calls made in the current window (day or minute), as the client last reported',
    labels,
  );
  const spooled = metrics.gauge(
    'stockwatch_client_spooled_bars',
    'Bars a client fetched that no server has acknowledged yet',
    ['client_id', 'provider'] as const,
  );
  const symbols = metrics.gauge(
    'stockwatch_client_symbols',
    'Symbols a client fetches, as it last reported (its share, when clients split them through Redis)',
    ['client_id', 'provider'] as const,
  );
  const reportedAt = metrics.gauge(
    'stockwatch_client_last_report_timestamp_seconds',
    "When a client last reported (Unix time): time() minus it is the report's age",
    ['client_id', 'provider', 'host'] as const,
  );
  metrics.onScrape('clients', async () => {
    for (const g of [remaining, limit, used, spooled, symbols, reportedAt]) g.reset();
    const since = deps.now().getTime() - (deps.clientStaleAfterMs ?? DAY_MS);
    for (const c of await deps.clients()) {
      const at = Date.parse(c.reported_at);
      if (at < since) continue;
      const id = { client_id: c.client_id, provider: c.provider };
      reportedAt.set({ ...id, host: c.host }, at / 1000);
      spooled.set(id, c.spooled);
      symbols.set(id, c.symbols.length);
      const q = c.quota;
      if (!q) continue;
      const minute = { ...id, window: 'minute' };
      remaining.set(minute, q.calls_left_this_minute);
      limit.set(minute, q.calls_per_minute);
      used.set(minute, Math.max(0, q.calls_per_minute - q.calls_left_this_minute));
      if (q.calls_per_day !== null && q.calls_left_today !== null) {
        const day = { ...id, window: 'day' };
        remaining.set(day, q.calls_left_today);
        limit.set(day, q.calls_per_day);
        used.set(day, Math.max(0, q.calls_per_day - q.calls_left_today));
      }
    }
  });
}
