import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import type { ChannelConfig, ConditionKind, SavedChannelType } from '../db/schema-notifications.ts';
import type { Target } from './channels/channel.ts';
import type { QuietHours } from './quiet-hours.ts';

/** A user without settings groups alerts within this many seconds (like Alertmanager's group wait). */
export const DEFAULT_GROUP_WINDOW_SECONDS = 30;
/** Most deliveries one message carries; the rest go in the next one. */
export const MAX_GROUP = 1000;

/** A delivery a notifier holds a lease on, with what it needs to send it. */
export interface LeasedDelivery {
  id: string;
  alertId: string;
  notificationId: string | null;
  userId: string;
  userEmail: string | null;
  userName: string | null;
  /** As the notification stored it. */
  channel: ChannelConfig;
  /** Where it goes, resolved; null when the saved channel it names was deleted. */
  target: Target | null;
  /** Deliveries with the same key go out as one message: same user, same channel. */
  groupKey: string;
  /** The user's quiet hours, if any. */
  quietHours: QuietHours | null;
  attempts: number;
  /** `last_attempt_at` before this claim: put back when the claim turns out not to be an attempt. */
  previousAttemptAt: Date | null;
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
     * Leases due deliveries, whole groups at a time. SKIP LOCKED lets notifiers claim side by side
     * without waiting on each other; an expired lease (its notifier died) makes a delivery due again.
     * The attempt is counted here, when it starts, so a notifier that dies mid-send still uses one.
     *
     * Grouping: up to `limit` due deliveries are picked, and with each, every other due delivery of
     * the same user and channel (a message lists them all). A group is held instead of leased when a
     * message went out, or is going out, to that channel within the user's group window, before the
     * group became due (a message sent after that simply missed them: they go now). Its deliveries
     * become due again when the window closes, and then go out together. Held deliveries are not
     * attempts and are not returned.
     */
    async claimDue(
      ex: Executor,
      p: { now: Date; leaseMs: number; workerId: string; limit: number },
    ): Promise<{ leased: LeasedDelivery[]; held: number }> {
      const now = p.now.toISOString();
      const rows = await queryRows<{
        held_count: number;
        id: string;
        alert_id: string;
        notification_id: string | null;
        user_id: string;
        email: string | null;
        name: string | null;
        channel: ChannelConfig;
        saved_type: SavedChannelType | null;
        saved_config: Record<string, unknown> | null;
        attempts: number;
        previous_attempt_at: Date | null;
        quiet_start: string | null;
        quiet_end: string | null;
        quiet_time_zone: string | null;
        quiet_mode: 'hold' | 'drop' | null;
        group_window_s: number;
        symbol: string;
        kind: ConditionKind;
        threshold: number;
        price: number;
        price_at: Date;
        fired_at: Date;
      }>(
        ex,
        sql`WITH heads AS (
              SELECT id, user_id, channel FROM deliveries
              WHERE status = 'pending' AND next_attempt_at <= ${now}::timestamptz
                AND (lease_until IS NULL OR lease_until <= ${now}::timestamptz)
              ORDER BY next_attempt_at
              LIMIT ${p.limit}
              FOR UPDATE SKIP LOCKED
            ),
            groups AS (
              SELECT g.user_id, g.channel,
                     coalesce(s.group_window_seconds, ${DEFAULT_GROUP_WINDOW_SECONDS}) AS window_s
              FROM (SELECT DISTINCT user_id, channel FROM heads) g
              LEFT JOIN user_settings s ON s.user_id = g.user_id
            ),
            members AS (
              SELECT m.id, m.user_id, m.channel, m.next_attempt_at, m.last_attempt_at
              FROM groups g CROSS JOIN LATERAL (
                SELECT d.id, d.user_id, d.channel, d.next_attempt_at, d.last_attempt_at FROM deliveries d
                WHERE d.user_id = g.user_id AND d.channel = g.channel AND d.status = 'pending'
                  AND d.next_attempt_at <= ${now}::timestamptz
                  AND (d.lease_until IS NULL OR d.lease_until <= ${now}::timestamptz)
                ORDER BY d.next_attempt_at, d.id
                LIMIT ${MAX_GROUP}
                FOR UPDATE SKIP LOCKED
              ) m
            ),
            windows AS (
              SELECT g.user_id, g.channel,
                (SELECT max(o.last_attempt_at) + g.window_s * interval '1 second' FROM deliveries o
                 WHERE o.user_id = g.user_id AND o.channel = g.channel AND g.window_s > 0
                   AND o.last_attempt_at > ${now}::timestamptz - g.window_s * interval '1 second'
                   AND o.last_attempt_at <= (SELECT min(m.next_attempt_at) FROM members m
                                             WHERE m.user_id = g.user_id AND m.channel = g.channel)
                   AND (o.status = 'sent' OR (o.status = 'pending' AND o.lease_until > ${now}::timestamptz))
                ) AS open_until
              FROM groups g
            ),
            held AS (
              UPDATE deliveries d SET next_attempt_at = w.open_until
              FROM members m JOIN windows w ON w.user_id = m.user_id AND w.channel = m.channel
              WHERE d.id = m.id AND w.open_until IS NOT NULL
              RETURNING d.id
            ),
            leased AS (
              UPDATE deliveries d
              SET lease_until = ${now}::timestamptz + ${p.leaseMs} * interval '1 millisecond',
                  leased_by = ${p.workerId}, attempts = d.attempts + 1, last_attempt_at = ${now}::timestamptz
              FROM members m JOIN windows w ON w.user_id = m.user_id AND w.channel = m.channel
              WHERE d.id = m.id AND w.open_until IS NULL
              RETURNING d.id, d.alert_id, d.user_id, d.channel, d.attempts, m.last_attempt_at AS previous_attempt_at
            )
            -- One row at least, so that the count of held deliveries comes back when nothing was leased.
            SELECT (SELECT count(*)::int FROM held) AS held_count, x.*
            FROM (SELECT 1) one LEFT JOIN (
              SELECT l.id, l.alert_id, a.notification_id, l.user_id, u.email, u.name, l.channel,
                     c.type AS saved_type, c.config AS saved_config, l.attempts, l.previous_attempt_at,
                     s.quiet_start, s.quiet_end, s.quiet_time_zone, s.quiet_mode,
                     coalesce(s.group_window_seconds, ${DEFAULT_GROUP_WINDOW_SECONDS}) AS group_window_s,
                     a.symbol, a.kind, a.threshold, a.price, a.price_at, a.fired_at
              FROM leased l
              JOIN alerts a ON a.id = l.alert_id
              LEFT JOIN "user" u ON u.id = l.user_id
              LEFT JOIN user_settings s ON s.user_id = l.user_id
              LEFT JOIN user_channels c ON l.channel->>'type' = 'channel'
                AND c.id::text = l.channel->>'id' AND c.user_id = l.user_id
            ) x ON true
            ORDER BY x.fired_at, x.price_at, x.symbol, x.id`,
      );
      const leased = rows
        .filter((r) => r.id !== null)
        .map((r) => ({
          id: r.id,
          alertId: r.alert_id,
          notificationId: r.notification_id,
          userId: r.user_id,
          userEmail: r.email,
          userName: r.name,
          channel: r.channel,
          target: resolveTarget(r.channel, r.saved_type, r.saved_config),
          // A window of 0 turns grouping off: alerts that fire together still go one by one.
          groupKey: `${r.user_id} ${JSON.stringify(r.channel)}${r.group_window_s === 0 ? ` ${r.id}` : ''}`,
          quietHours:
            r.quiet_start && r.quiet_end && r.quiet_time_zone
              ? {
                  start: r.quiet_start,
                  end: r.quiet_end,
                  timeZone: r.quiet_time_zone,
                  mode: r.quiet_mode ?? 'hold',
                }
              : null,
          attempts: r.attempts,
          previousAttemptAt: r.previous_attempt_at ? new Date(r.previous_attempt_at) : null,
          symbol: r.symbol,
          kind: r.kind,
          threshold: r.threshold,
          price: r.price,
          priceAt: new Date(r.price_at),
          firedAt: new Date(r.fired_at),
        }));
      return { leased, held: rows[0]?.held_count ?? 0 };
    },

    /** Sent is sent, whoever held the lease: a notifier whose lease ran out still did the work. */
    async markSent(ex: Executor, ids: string | string[], now: Date): Promise<void> {
      await ex.execute(
        sql`UPDATE deliveries SET status = 'sent', sent_at = ${now.toISOString()}::timestamptz,
              lease_until = NULL, leased_by = NULL, last_error = NULL
            WHERE id = ANY(${sql.param([ids].flat())}::uuid[]) AND status <> 'sent'`,
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

    /**
     * Quiet hours, mode hold: not an attempt after all. Due again at `until`, the claim's attempt and
     * attempt time undone, so the history shows no attempt that never happened.
     */
    async hold(ex: Executor, p: { deliveries: LeasedDelivery[]; workerId: string; until: Date }) {
      if (p.deliveries.length === 0) return;
      await ex.execute(
        sql`UPDATE deliveries d
            SET next_attempt_at = ${p.until.toISOString()}::timestamptz, lease_until = NULL, leased_by = NULL,
                attempts = greatest(d.attempts - 1, 0), last_attempt_at = h.previous
            FROM unnest(${sql.param(p.deliveries.map((x) => x.id))}::uuid[],
                        ${sql.param(p.deliveries.map((x) => x.previousAttemptAt?.toISOString() ?? null))}::timestamptz[])
              AS h(id, previous)
            WHERE d.id = h.id AND d.leased_by = ${p.workerId} AND d.status = 'pending'`,
      );
    },

    /** Quiet hours, mode drop: never sent, on purpose; the reason stays in the history. */
    async markDropped(ex: Executor, p: { deliveries: LeasedDelivery[]; workerId: string; reason: string }) {
      if (p.deliveries.length === 0) return;
      await ex.execute(
        sql`UPDATE deliveries d
            SET status = 'dropped', last_error = ${p.reason}, lease_until = NULL, leased_by = NULL,
                attempts = greatest(d.attempts - 1, 0), last_attempt_at = h.previous
            FROM unnest(${sql.param(p.deliveries.map((x) => x.id))}::uuid[],
                        ${sql.param(p.deliveries.map((x) => x.previousAttemptAt?.toISOString() ?? null))}::timestamptz[])
              AS h(id, previous)
            WHERE d.id = h.id AND d.leased_by = ${p.workerId} AND d.status = 'pending'`,
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

/** The stored channel, or the saved channel it names, as something a channel module can send to. */
function resolveTarget(
  channel: ChannelConfig,
  savedType: SavedChannelType | null,
  savedConfig: Record<string, unknown> | null,
): Target | null {
  if (channel.type !== 'channel') return channel;
  if (!savedType || !savedConfig) return null;
  return { ...savedConfig, type: savedType } as Target;
}
