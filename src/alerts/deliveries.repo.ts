import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import type { ChannelConfig, ConditionKind } from '../db/schema-notifications.ts';

/** A delivery a notifier holds a lease on, with what it needs to send it. */
export interface LeasedDelivery {
  id: string;
  alertId: string;
  notificationId: string | null;
  userId: string;
  userEmail: string | null;
  userName: string | null;
  channel: ChannelConfig;
  attempts: number;
  symbol: string;
  kind: ConditionKind;
  threshold: number;
  price: number;
  priceAt: Date;
  firedAt: Date;
}

/** The notifier's side of deliveries: claim with a lease, record the outcome. */
export function createDeliveriesRepo() {
  return {
    /**
     * Leases up to `limit` due deliveries. SKIP LOCKED lets notifiers claim side by side without
     * waiting on each other; an expired lease (its notifier died) makes a delivery due again.
     * The attempt is counted here, when it starts, so a notifier that dies mid-send still uses one.
     */
    async claimDue(
      ex: Executor,
      p: { now: Date; leaseMs: number; workerId: string; limit: number },
    ): Promise<LeasedDelivery[]> {
      const now = p.now.toISOString();
      const rows = await queryRows<{
        id: string;
        alert_id: string;
        notification_id: string | null;
        user_id: string;
        email: string | null;
        name: string | null;
        channel: ChannelConfig;
        attempts: number;
        symbol: string;
        kind: ConditionKind;
        threshold: number;
        price: number;
        price_at: Date;
        fired_at: Date;
      }>(
        ex,
        sql`WITH due AS (
              SELECT id FROM deliveries
              WHERE status = 'pending' AND next_attempt_at <= ${now}::timestamptz
                AND (lease_until IS NULL OR lease_until <= ${now}::timestamptz)
              ORDER BY next_attempt_at
              LIMIT ${p.limit}
              FOR UPDATE SKIP LOCKED
            ),
            leased AS (
              UPDATE deliveries d
              SET lease_until = ${now}::timestamptz + ${p.leaseMs} * interval '1 millisecond',
                  leased_by = ${p.workerId}, attempts = d.attempts + 1, last_attempt_at = ${now}::timestamptz
              FROM due WHERE d.id = due.id
              RETURNING d.*
            )
            SELECT l.id, l.alert_id, a.notification_id, l.user_id, u.email, u.name, l.channel, l.attempts,
                   a.symbol, a.kind, a.threshold, a.price, a.price_at, a.fired_at
            FROM leased l
            JOIN alerts a ON a.id = l.alert_id
            LEFT JOIN "user" u ON u.id = l.user_id`,
      );
      return rows.map((r) => ({
        id: r.id,
        alertId: r.alert_id,
        notificationId: r.notification_id,
        userId: r.user_id,
        userEmail: r.email,
        userName: r.name,
        channel: r.channel,
        attempts: r.attempts,
        symbol: r.symbol,
        kind: r.kind,
        threshold: r.threshold,
        price: r.price,
        priceAt: new Date(r.price_at),
        firedAt: new Date(r.fired_at),
      }));
    },

    /** Sent is sent, whoever held the lease: a notifier whose lease ran out still did the work. */
    async markSent(ex: Executor, id: string, now: Date): Promise<void> {
      await ex.execute(
        sql`UPDATE deliveries SET status = 'sent', sent_at = ${now.toISOString()}::timestamptz,
              lease_until = NULL, leased_by = NULL, last_error = NULL
            WHERE id = ${id}::uuid AND status <> 'sent'`,
      );
    },

    /** A failed attempt: due again at `retryAt`, or failed for good when `retryAt` is null. */
    async markAttemptFailed(
      ex: Executor,
      p: { id: string; workerId: string; error: string; retryAt: Date | null },
    ): Promise<void> {
      await ex.execute(
        sql`UPDATE deliveries
            SET status = ${p.retryAt ? 'pending' : 'failed'},
                next_attempt_at = coalesce(${p.retryAt?.toISOString() ?? null}::timestamptz, next_attempt_at),
                last_error = ${p.error.slice(0, 1000)}, lease_until = NULL, leased_by = NULL
            WHERE id = ${p.id}::uuid AND leased_by = ${p.workerId} AND status = 'pending'`,
      );
    },

    /** On a graceful stop: what this notifier holds but did not send becomes due at once for others. */
    async releaseLeases(ex: Executor, workerId: string, ids: string[]): Promise<void> {
      if (ids.length === 0) return;
      await ex.execute(
        sql`UPDATE deliveries SET lease_until = NULL, leased_by = NULL, attempts = greatest(attempts - 1, 0)
            WHERE leased_by = ${workerId} AND status = 'pending' AND id = ANY(${sql.param(ids)}::uuid[])`,
      );
    },

    async countPending(ex: Executor): Promise<number> {
      const rows = await queryRows<{ n: number }>(
        ex,
        sql`SELECT count(*)::int AS n FROM deliveries WHERE status = 'pending'`,
      );
      return rows[0]?.n ?? 0;
    },
  };
}

export type DeliveriesRepo = ReturnType<typeof createDeliveriesRepo>;
