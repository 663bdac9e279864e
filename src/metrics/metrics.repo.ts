import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';

export interface DeliveryBacklog {
  pending: number;
  /**
   * Since the alert behind the oldest delivery that is due fired; 0 when none is due. Deliveries held
   * on purpose (quiet hours, a grouping window, a retry's backoff) count only once due: a night of quiet
   * hours is not a backlog.
   */
  oldestAgeSeconds: number;
}

export function createMetricsRepo() {
  return {
    /**
     * One statement per scrape. It reads only pending deliveries (the partial index
     * `deliveries_due_idx` holds exactly those), so it costs what the backlog is, not what the history is.
     */
    async deliveryBacklog(ex: Executor, now: Date): Promise<DeliveryBacklog> {
      const rows = await queryRows<{ pending: number; oldest_age: number | null }>(
        ex,
        sql`SELECT count(*)::int AS pending,
                   extract(epoch FROM (${now.toISOString()}::timestamptz
                     - min(a.fired_at) FILTER (WHERE d.next_attempt_at <= ${now.toISOString()}::timestamptz)))::float8
              AS oldest_age
            FROM deliveries d JOIN alerts a ON a.id = d.alert_id
            WHERE d.status = 'pending'`,
      );
      const row = rows[0];
      return { pending: row?.pending ?? 0, oldestAgeSeconds: Math.max(0, row?.oldest_age ?? 0) };
    },
  };
}

export type MetricsRepo = ReturnType<typeof createMetricsRepo>;
