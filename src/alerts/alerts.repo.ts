import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import type { ChannelConfig, ConditionKind, DeliveryStatus } from '../db/schema-notifications.ts';
import { isUuid } from '../notifications/notifications.repo.ts';

export interface AlertWithDeliveries {
  id: string;
  notification_id: string | null;
  symbol: string;
  kind: ConditionKind;
  threshold: number;
  price: number;
  price_at: Date;
  fired_at: Date;
  deliveries: Array<{
    id: string;
    channel: ChannelConfig;
    status: DeliveryStatus;
    attempts: number;
    last_error: string | null;
    last_attempt_at: string | null;
    sent_at: string | null;
    next_attempt_at: string;
    channel_name: string | null;
  }>;
}

/** The user's side of alerts: history and retries. Notifiers use deliveries.repo.ts. */
export function createAlertsRepo() {
  const select = sql`SELECT a.id, a.notification_id, a.symbol, a.kind, a.threshold, a.price, a.price_at, a.fired_at,
      coalesce((SELECT json_agg(json_build_object(
          'id', d.id, 'channel', d.channel, 'status', d.status, 'attempts', d.attempts,
          'last_error', d.last_error, 'last_attempt_at', d.last_attempt_at, 'sent_at', d.sent_at,
          'next_attempt_at', d.next_attempt_at,
          -- A saved channel's name, for the history; null for inline channels and deleted ones.
          'channel_name', (SELECT c.name FROM user_channels c
                           WHERE d.channel->>'type' = 'channel' AND c.id::text = d.channel->>'id'
                             AND c.user_id = d.user_id)) ORDER BY d.id)
        FROM deliveries d WHERE d.alert_id = a.id), '[]') AS deliveries
    FROM alerts a`;

  return {
    /** Newest first; keyset pagination on (fired_at, id). */
    async listForUser(
      ex: Executor,
      userId: string,
      options: {
        limit: number;
        after?: { firedAt: Date; id: string };
        notificationId?: string;
        symbol?: string;
      },
    ): Promise<AlertWithDeliveries[]> {
      // An id that cannot exist has no alerts (not: the filter is ignored).
      if (options.notificationId !== undefined && !isUuid(options.notificationId)) return [];
      const after = options.after
        ? sql`AND (a.fired_at, a.id) < (${options.after.firedAt.toISOString()}::timestamptz, ${options.after.id}::uuid)`
        : sql``;
      const byNotification = options.notificationId
        ? sql`AND a.notification_id = ${options.notificationId}::uuid`
        : sql``;
      const bySymbol = options.symbol ? sql`AND a.symbol = ${options.symbol}` : sql``;
      return queryRows<AlertWithDeliveries>(
        ex,
        sql`${select} WHERE a.user_id = ${userId} ${after} ${byNotification} ${bySymbol}
            ORDER BY a.fired_at DESC, a.id DESC LIMIT ${options.limit}`,
      );
    },

    async findForUser(ex: Executor, userId: string, id: string): Promise<AlertWithDeliveries | undefined> {
      if (!isUuid(id)) return undefined;
      const rows = await queryRows<AlertWithDeliveries>(
        ex,
        sql`${select} WHERE a.user_id = ${userId} AND a.id = ${id}::uuid`,
      );
      return rows[0];
    },

    /** Puts the alert's failed deliveries back in the queue with a fresh set of attempts. */
    async requeueFailed(ex: Executor, userId: string, alertId: string, now: Date): Promise<number> {
      if (!isUuid(alertId)) return 0;
      const rows = await queryRows(
        ex,
        sql`UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${now.toISOString()}::timestamptz,
              lease_until = NULL, leased_by = NULL
            WHERE alert_id = ${alertId}::uuid AND user_id = ${userId} AND status = 'failed'
            RETURNING id`,
      );
      return rows.length;
    },
  };
}

export type AlertsRepo = ReturnType<typeof createAlertsRepo>;
