import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import { type ChannelConfig, type ConditionKind, notifications } from '../db/schema-notifications.ts';

export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotification = typeof notifications.$inferInsert;

/** A symbol's newest price and the one evaluated before it (null for its first). */
export interface FreshPrice {
  symbol: string;
  price: number;
  previous: number | null;
  priceAt: Date;
}

/** What a claim returns: enough to write the alert and its deliveries. */
export interface ClaimedAlert {
  alertId: string;
  notificationId: string;
  userId: string;
  symbol: string;
  kind: ConditionKind;
  threshold: number;
  price: number;
  priceAt: Date;
  firedAt: Date;
  channels: ChannelConfig[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids that cannot exist are answered like missing ones, without asking the database. */
export const isUuid = (id: string) => UUID.test(id);

export function createNotificationsRepo() {
  return {
    async insert(ex: Executor, row: NewNotification): Promise<NotificationRow> {
      const [created] = await ex.insert(notifications).values(row).returning();
      return created!;
    },

    async countForUser(ex: Executor, userId: string): Promise<number> {
      const [row] = await ex
        .select({ n: sql<number>`count(*)::int` })
        .from(notifications)
        .where(eq(notifications.userId, userId));
      return row?.n ?? 0;
    },

    async findForUser(ex: Executor, userId: string, id: string): Promise<NotificationRow | undefined> {
      if (!isUuid(id)) return undefined;
      const [row] = await ex
        .select()
        .from(notifications)
        .where(and(eq(notifications.id, id), eq(notifications.userId, userId)));
      return row;
    },

    /** Newest first, keyset-paginated on (created_at, id). */
    async listForUser(
      ex: Executor,
      userId: string,
      options: { limit: number; after?: { createdAt: Date; id: string }; symbol?: string },
    ): Promise<NotificationRow[]> {
      const { after } = options;
      return ex
        .select()
        .from(notifications)
        .where(
          and(
            eq(notifications.userId, userId),
            options.symbol ? eq(notifications.symbol, options.symbol) : undefined,
            after
              ? or(
                  lt(notifications.createdAt, after.createdAt),
                  and(eq(notifications.createdAt, after.createdAt), lt(notifications.id, after.id)),
                )
              : undefined,
          ),
        )
        .orderBy(desc(notifications.createdAt), desc(notifications.id))
        .limit(options.limit);
    },

    async updateForUser(
      ex: Executor,
      userId: string,
      id: string,
      changes: Partial<NewNotification>,
    ): Promise<NotificationRow | undefined> {
      if (!isUuid(id)) return undefined;
      const [row] = await ex
        .update(notifications)
        .set({ ...changes, updatedAt: sql`now()` })
        .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
        .returning();
      return row;
    },

    async deleteForUser(ex: Executor, userId: string, id: string): Promise<boolean> {
      if (!isUuid(id)) return false;
      const rows = await ex
        .delete(notifications)
        .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
        .returning({ id: notifications.id });
      return rows.length > 0;
    },

    /**
     * Claims every armed notification whose condition holds at its symbol's new price and whose
     * cooldown has passed, and writes one alert and one delivery per channel for each.
     *
     * Two statements. The first finds candidates by index range scans on (symbol, kind, threshold)
     * among armed rules: O(log n + matches) whatever the number of rules, and usually it finds none, so
     * the second never runs. The second claims them by primary key (kept apart so that the planner
     * never joins the UPDATE against the whole table) and re-checks everything on the row it locks:
     * when two transactions race for one rule, the second waits for the first, sees the new
     * next_eligible_at, and skips it; a rule edited meanwhile is judged by its new condition. A rule
     * therefore fires at most once per cooldown, and an alert exists exactly when its claim committed.
     */
    async claimAndRecord(ex: Executor, prices: FreshPrice[], now: Date): Promise<ClaimedAlert[]> {
      if (prices.length === 0) return [];
      const candidates = await queryRows<{ id: string; price: number; previous: number | null; at: Date }>(
        ex,
        sql`SELECT c.id, i.price, i.previous, i.at
            FROM unnest(
              ${sql.param(prices.map((p) => p.symbol))}::text[],
              ${sql.param(prices.map((p) => p.price))}::float8[],
              ${sql.param(prices.map((p) => p.previous))}::float8[],
              ${sql.param(prices.map((p) => p.priceAt.toISOString()))}::timestamptz[]
            ) AS i(symbol, price, previous, at)
            CROSS JOIN LATERAL (
              SELECT id FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'above' AND threshold < i.price
              UNION ALL SELECT id FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'at_or_above' AND threshold <= i.price
              UNION ALL SELECT id FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'below' AND threshold > i.price
              UNION ALL SELECT id FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'at_or_below' AND threshold >= i.price
              UNION ALL SELECT id FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'crosses_above' AND threshold > i.previous AND threshold <= i.price
              UNION ALL SELECT id FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'crosses_below' AND threshold < i.previous AND threshold >= i.price
            ) c`,
      );
      if (candidates.length === 0) return [];
      // The same order in every transaction: two claims of overlapping rules cannot deadlock.
      candidates.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const nowIso = now.toISOString();
      const rows = await queryRows<{
        alert_id: string;
        notification_id: string;
        user_id: string;
        symbol: string;
        kind: ConditionKind;
        threshold: number;
        price: number;
        price_at: Date;
        channels: ChannelConfig[];
      }>(
        ex,
        sql`WITH c AS (
              SELECT * FROM unnest(
                ${sql.param(candidates.map((c) => c.id))}::uuid[],
                ${sql.param(candidates.map((c) => c.price))}::float8[],
                ${sql.param(candidates.map((c) => c.previous))}::float8[],
                ${sql.param(candidates.map((c) => new Date(c.at).toISOString()))}::timestamptz[]
              ) AS c(id, price, previous, at)
            ),
            claimed AS (
              UPDATE notifications n
              SET last_fired_at = c.at,
                  next_eligible_at = c.at + make_interval(mins => n.cooldown_minutes),
                  done = (n.trigger = 'once'),
                  fire_count = n.fire_count + 1
              FROM c
              WHERE n.id = c.id AND NOT n.paused AND NOT n.done
                AND (n.expires_at IS NULL OR n.expires_at > ${nowIso}::timestamptz)
                AND (n.next_eligible_at IS NULL OR n.next_eligible_at <= c.at)
                AND CASE n.kind
                  WHEN 'above' THEN n.threshold < c.price
                  WHEN 'at_or_above' THEN n.threshold <= c.price
                  WHEN 'below' THEN n.threshold > c.price
                  WHEN 'at_or_below' THEN n.threshold >= c.price
                  WHEN 'crosses_above' THEN n.threshold > c.previous AND n.threshold <= c.price
                  WHEN 'crosses_below' THEN n.threshold < c.previous AND n.threshold >= c.price
                  ELSE false END
              RETURNING n.id, n.user_id, n.symbol, n.kind, n.threshold, n.channels, c.price, c.at
            ),
            recorded AS (
              INSERT INTO alerts (notification_id, user_id, symbol, kind, threshold, price, price_at, fired_at)
              SELECT id, user_id, symbol, kind, threshold, price, at, ${nowIso}::timestamptz FROM claimed
              RETURNING id, notification_id
            ),
            queued AS (
              INSERT INTO deliveries (alert_id, user_id, channel, next_attempt_at)
              SELECT r.id, c.user_id, ch.value, ${nowIso}::timestamptz
              FROM recorded r JOIN claimed c ON c.id = r.notification_id
              CROSS JOIN LATERAL jsonb_array_elements(c.channels) ch
              RETURNING id
            )
            -- PostgreSQL runs every data-modifying CTE (queued included) even when the result ignores it.
            SELECT r.id AS alert_id, c.id AS notification_id, c.user_id, c.symbol, c.kind, c.threshold,
                   c.price, c.at AS price_at, c.channels
            FROM recorded r JOIN claimed c ON c.id = r.notification_id`,
      );
      return rows.map((r) => ({
        alertId: r.alert_id,
        notificationId: r.notification_id,
        userId: r.user_id,
        symbol: r.symbol,
        kind: r.kind,
        threshold: r.threshold,
        price: r.price,
        priceAt: new Date(r.price_at),
        firedAt: now,
        channels: r.channels,
      }));
    },
  };
}

export type NotificationsRepo = ReturnType<typeof createNotificationsRepo>;
