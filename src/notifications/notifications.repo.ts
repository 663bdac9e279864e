import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import { type ChannelConfig, type ConditionKind, notifications } from '../db/schema-notifications.ts';
import { type Bar, type IndicatorKind, isIndicatorKind } from './indicators.ts';

export type NotificationRow = typeof notifications.$inferSelect;
export type NewNotification = typeof notifications.$inferInsert;

/** A symbol's newest price and the one evaluated before it (null for its first). */
export interface FreshPrice {
  symbol: string;
  price: number;
  previous: number | null;
  priceAt: Date;
}

/** An indicator's value at a symbol's fresh price: the armed rules of (symbol, kind, variant) with threshold <= metric hold. */
export interface IndicatorMetric {
  symbol: string;
  kind: IndicatorKind;
  variant: string;
  metric: number;
  price: number;
  priceAt: Date;
}

/** A symbol's fresh price, with the New York time boundaries its indicators use (indicators.ts). */
export interface IndicatorRequest {
  symbol: string;
  at: Date;
  /** Start of the price's New York day: the previous close is the last price before it. */
  dayStart: Date;
  /** Start of the 52-week window: extremes and oldest time of [from52, at). */
  from52: Date;
  price: number;
}

/** What one (symbol, kind, variant) needs from the symbol's history; only its kind's fields are set. */
export interface IndicatorInputs {
  symbol: string;
  kind: IndicatorKind;
  variant: string;
  previousClose: number | null;
  /** move_pct_within: lowest and highest price of [at − window, at). */
  window: { lowest: number; highest: number } | null;
  /**
   * sma_cross, volume_spike: the newest bars, oldest first, ending with the fresh price's own bar; on one
   * row of the symbol only (empty on the others), as many as its longest average needs.
   */
  recent: Array<{ price: number; volume: number }>;
  extremes: { high: number; low: number; oldest: number } | null;
}

/** A rule whose condition holds, found by a range scan; `kind` and `metric` only for indicator rules. */
export interface Candidate {
  id: string;
  price: number;
  previous: number | null;
  at: Date;
  kind: string | null;
  variant: string | null;
  metric: number | null;
}

/** An indicator (kind, variant) that armed rules on a symbol watch. */
export interface WatchedVariant {
  symbol: string;
  kind: IndicatorKind;
  variant: string;
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
    async claimAndRecord(
      ex: Executor,
      prices: FreshPrice[],
      now: Date,
      indicators: IndicatorMetric[] = [],
    ): Promise<ClaimedAlert[]> {
      const { candidates } = await this.findCandidates(ex, prices, indicators);
      return this.claim(ex, candidates, now);
    },

    /**
     * The first statement of a claim: the rules whose condition holds, by index range scans. With
     * `watch`, it also says which of the prices' symbols have armed indicator rules at all (one index
     * probe each), so that a symbol without any costs no further statement.
     */
    async findCandidates(
      ex: Executor,
      prices: FreshPrice[],
      indicators: IndicatorMetric[],
      options: { watch?: boolean } = {},
    ): Promise<{ candidates: Candidate[]; watched: WatchedVariant[] }> {
      if (prices.length === 0 && indicators.length === 0) return { candidates: [], watched: [] };
      // Indicator rules: one range scan per (symbol, kind, variant) over the threshold, like the levels.
      const indicatorScan = sql`SELECT c.id, m.price, NULL::float8 AS previous, m.at, m.kind, m.variant, m.metric,
                   NULL::text AS watch
            FROM unnest(
              ${sql.param(indicators.map((m) => m.symbol))}::text[],
              ${sql.param(indicators.map((m) => m.kind))}::text[],
              ${sql.param(indicators.map((m) => m.variant))}::text[],
              ${sql.param(indicators.map((m) => m.metric))}::float8[],
              ${sql.param(indicators.map((m) => m.price))}::float8[],
              ${sql.param(indicators.map((m) => m.priceAt.toISOString()))}::timestamptz[]
            ) AS m(symbol, kind, variant, metric, price, at)
            CROSS JOIN LATERAL (
              SELECT id FROM notifications WHERE symbol = m.symbol AND kind = m.kind AND variant = m.variant
                AND NOT paused AND NOT done AND variant IS NOT NULL AND threshold <= m.metric
            ) c`;
      const levelScan = sql`SELECT c.id, i.price, i.previous, i.at, NULL::text AS kind, NULL::text AS variant,
                   NULL::float8 AS metric, NULL::text AS watch
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
            ) c`;
      // The distinct (kind, variant) pairs of armed indicator rules per symbol: a skip scan of the
      // variant index, one probe per pair (and one for a symbol without any).
      const watchScan = sql`SELECT NULL::uuid AS id, NULL::float8 AS price, NULL::float8 AS previous,
                   NULL::timestamptz AS at, v.kind, v.variant, NULL::float8 AS metric, w.symbol AS watch
            FROM unnest(${sql.param(prices.map((p) => p.symbol))}::text[]) AS w(symbol)
            CROSS JOIN LATERAL (
              WITH RECURSIVE s AS (
                (SELECT kind, variant FROM notifications
                 WHERE symbol = w.symbol AND NOT paused AND NOT done AND variant IS NOT NULL
                 ORDER BY kind, variant LIMIT 1)
                UNION ALL
                SELECT nx.kind, nx.variant FROM s CROSS JOIN LATERAL (
                  SELECT kind, variant FROM notifications
                  WHERE symbol = w.symbol AND NOT paused AND NOT done AND variant IS NOT NULL
                    AND (kind, variant) > (s.kind, s.variant)
                  ORDER BY kind, variant LIMIT 1) nx
              )
              SELECT * FROM s
            ) v`;
      const parts = [
        ...(prices.length > 0 ? [levelScan] : []),
        ...(indicators.length > 0 ? [indicatorScan] : []),
        ...(prices.length > 0 && options.watch ? [watchScan] : []),
      ];
      const rows = await queryRows<Candidate & { watch: string | null }>(
        ex,
        sql.join(parts, sql` UNION ALL `),
      );
      const watched: WatchedVariant[] = [];
      const candidates: Candidate[] = [];
      for (const { watch, ...row } of rows)
        if (watch === null) candidates.push(row);
        else if (isIndicatorKind(row.kind!))
          watched.push({ symbol: watch, kind: row.kind, variant: row.variant! });
      return { candidates, watched };
    },

    /**
     * The second statement: claims the candidates by primary key (kept apart from the scans so that the
     * planner never joins the UPDATE against the whole table) and records their alerts and deliveries.
     */
    async claim(ex: Executor, found: Candidate[], now: Date): Promise<ClaimedAlert[]> {
      if (found.length === 0) return [];
      const candidates = [...found];
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
                ${sql.param(candidates.map((c) => new Date(c.at).toISOString()))}::timestamptz[],
                ${sql.param(candidates.map((c) => c.kind))}::text[],
                ${sql.param(candidates.map((c) => c.variant))}::text[],
                ${sql.param(candidates.map((c) => c.metric))}::float8[]
              ) AS c(id, price, previous, at, kind, variant, metric)
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
                -- An indicator rule edited meanwhile (another kind or parameters) no longer matches its metric.
                AND CASE WHEN c.kind IS NOT NULL THEN
                  n.kind = c.kind AND n.variant = c.variant AND n.threshold <= c.metric
                ELSE CASE n.kind
                  WHEN 'above' THEN n.threshold < c.price
                  WHEN 'at_or_above' THEN n.threshold <= c.price
                  WHEN 'below' THEN n.threshold > c.price
                  WHEN 'at_or_below' THEN n.threshold >= c.price
                  WHEN 'crosses_above' THEN n.threshold > c.previous AND n.threshold <= c.price
                  WHEN 'crosses_below' THEN n.threshold < c.previous AND n.threshold >= c.price
                  ELSE false END END
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

    /**
     * What the watched (kind, variant) pairs of each fresh price need from the symbol's history, in one
     * statement holding only the parts of the kinds present, one row per pair; each part is index range
     * scans on `prices`, once per symbol: the previous close (one probe), each window's lowest and highest
     * price, the newest bars for the SMAs and volume averages, the 52-week extremes.
     */
    async indicatorInputs(
      ex: Executor,
      requests: IndicatorRequest[],
      watched: WatchedVariant[],
    ): Promise<IndicatorInputs[]> {
      const bySymbol = new Map(requests.map((r) => [r.symbol, r]));
      const pairs = watched.filter((w) => bySymbol.has(w.symbol));
      if (pairs.length === 0) return [];
      const has = (...kinds: IndicatorKind[]) => pairs.some((p) => kinds.includes(p.kind));
      const ctes = [
        sql`v AS (
              SELECT * FROM unnest(
                ${sql.param(pairs.map((p) => p.symbol))}::text[],
                ${sql.param(pairs.map((p) => p.kind))}::text[],
                ${sql.param(pairs.map((p) => p.variant))}::text[],
                ${sql.param(pairs.map((p) => bySymbol.get(p.symbol)!.at.toISOString()))}::timestamptz[]
              ) AS v(symbol, kind, variant, at)
            )`,
      ];
      const columns = [sql`v.symbol, v.kind, v.variant`];
      const joins = [];
      const symbolsOf = (...kinds: IndicatorKind[]) => [
        ...new Set(pairs.filter((p) => kinds.includes(p.kind)).map((p) => p.symbol)),
      ];
      if (has('change_pct_from_close')) {
        const symbols = symbolsOf('change_pct_from_close');
        ctes.push(sql`pc AS (
              SELECT i.symbol, (SELECT price FROM prices p WHERE p.symbol = i.symbol AND p.ts < i.day_start
                                ORDER BY p.ts DESC LIMIT 1) AS close
              FROM unnest(
                ${sql.param(symbols)}::text[],
                ${sql.param(symbols.map((s) => bySymbol.get(s)!.dayStart.toISOString()))}::timestamptz[]
              ) AS i(symbol, day_start)
            )`);
        columns.push(sql`pc.close`);
        joins.push(sql`LEFT JOIN pc ON pc.symbol = v.symbol AND v.kind = 'change_pct_from_close'`);
      } else columns.push(sql`NULL::float8 AS close`);
      if (has('move_pct_within')) {
        // Lowest and highest price once per symbol and window.
        ctes.push(sql`mw AS (
              SELECT k.symbol, k.w, x.lowest, x.highest FROM (
                SELECT DISTINCT symbol, at, (regexp_match(variant, '^w([0-9]+)'))[1]::int AS w
                FROM v WHERE kind = 'move_pct_within'
              ) k
              CROSS JOIN LATERAL (
                SELECT min(price) AS lowest, max(price) AS highest FROM prices p
                WHERE p.symbol = k.symbol AND p.ts >= k.at - make_interval(mins => k.w) AND p.ts < k.at
              ) x
            )`);
        columns.push(sql`mw.lowest, mw.highest`);
        joins.push(sql`LEFT JOIN mw ON mw.symbol = v.symbol AND v.kind = 'move_pct_within'
              AND mw.w = (regexp_match(v.variant, '^w([0-9]+)'))[1]::int`);
      } else columns.push(sql`NULL::float8 AS lowest, NULL::float8 AS highest`);
      if (has('sma_cross', 'volume_spike')) {
        // The newest bars once per symbol, as many as its longest SMA (slow) or volume average (periods)
        // needs, plus the price's own bar; sent with one row of the symbol only.
        ctes.push(sql`rb AS (
              SELECT k.symbol, k.variant, r.recent FROM (
                SELECT symbol, max(at) AS at, min(variant) AS variant,
                       max((regexp_match(variant, '^(?:f[0-9]+s|n)([0-9]+)'))[1]::int) + 1 AS n
                FROM v WHERE kind IN ('sma_cross', 'volume_spike') GROUP BY symbol
              ) k
              CROSS JOIN LATERAL (
                SELECT json_agg(json_build_array(b.price, b.volume) ORDER BY b.ts) AS recent
                FROM (SELECT ts, price, volume FROM prices p WHERE p.symbol = k.symbol AND p.ts <= k.at
                      ORDER BY p.ts DESC LIMIT k.n) b
              ) r
            )`);
        columns.push(sql`rb.recent`);
        joins.push(
          sql`LEFT JOIN rb ON rb.symbol = v.symbol AND rb.variant = v.variant AND v.kind IN ('sma_cross', 'volume_spike')`,
        );
      } else columns.push(sql`NULL::json AS recent`);
      if (has('new_high_52w', 'new_low_52w')) {
        const symbols = symbolsOf('new_high_52w', 'new_low_52w');
        const of = (s: string) => bySymbol.get(s)!;
        // Today's bars first; the earlier days only when the price is beyond today's high or low
        // (otherwise it cannot be beyond the year's either, and nothing fires), so the year is read only
        // for prices that are intraday extremes.
        ctes.push(sql`x52 AS (
              SELECT i.symbol, greatest(t.high, y.high) AS high, least(t.low, y.low) AS low,
                     coalesce(y.oldest, t.oldest) AS oldest
              FROM unnest(
                ${sql.param(symbols)}::text[],
                ${sql.param(symbols.map((s) => of(s).at.toISOString()))}::timestamptz[],
                ${sql.param(symbols.map((s) => of(s).dayStart.toISOString()))}::timestamptz[],
                ${sql.param(symbols.map((s) => of(s).from52.toISOString()))}::timestamptz[],
                ${sql.param(symbols.map((s) => of(s).price))}::float8[]
              ) AS i(symbol, at, day_start, from52, price)
              CROSS JOIN LATERAL (
                SELECT max(coalesce(high, price)) AS high, min(coalesce(low, price)) AS low,
                       (extract(epoch FROM min(ts)) * 1000)::float8 AS oldest
                FROM prices p WHERE p.symbol = i.symbol AND p.ts >= i.day_start AND p.ts < i.at) t
              CROSS JOIN LATERAL (
                SELECT max(coalesce(high, price)) AS high, min(coalesce(low, price)) AS low,
                       (extract(epoch FROM min(ts)) * 1000)::float8 AS oldest
                FROM prices p
                WHERE (t.high IS NULL OR i.price > t.high OR i.price < t.low)
                  AND p.symbol = i.symbol AND p.ts >= i.from52 AND p.ts < i.day_start) y
            )`);
        columns.push(sql`x52.high, x52.low, x52.oldest`);
        joins.push(sql`LEFT JOIN x52 ON x52.symbol = v.symbol AND v.kind IN ('new_high_52w', 'new_low_52w')`);
      } else columns.push(sql`NULL::float8 AS high, NULL::float8 AS low, NULL::float8 AS oldest`);
      const rows = await queryRows<{
        symbol: string;
        kind: IndicatorKind;
        variant: string;
        close: number | null;
        lowest: number | null;
        highest: number | null;
        recent: Array<[number, number]> | null;
        high: number | null;
        low: number | null;
        oldest: number | null;
      }>(
        ex,
        sql`WITH ${sql.join(ctes, sql`, `)}
            SELECT ${sql.join(columns, sql`, `)} FROM v ${sql.join(joins, sql` `)}`,
      );
      return rows.map((r) => ({
        symbol: r.symbol,
        kind: r.kind,
        variant: r.variant,
        previousClose: r.close,
        window: r.lowest === null || r.highest === null ? null : { lowest: r.lowest, highest: r.highest },
        recent: (r.recent ?? []).map(([price, volume]) => ({ price, volume: Number(volume) })),
        extremes:
          r.high === null || r.low === null || r.oldest === null
            ? null
            : { high: r.high, low: r.low, oldest: Number(r.oldest) },
      }));
    },

    /**
     * A symbol's bars from `from` to `end`, with the `barsBefore` bars before `from`: what a backtest
     * looks at, in one statement. Undefined when the symbol has no price at all.
     */
    async series(
      ex: Executor,
      symbol: string,
      range: { from: Date; barsBefore: number; start: Date; end: Date },
    ): Promise<Bar[] | undefined> {
      const from = new Date(Math.min(range.from.getTime(), range.start.getTime()));
      // One JSON value rather than 43,200 rows: the driver's per-row parsing would cost more than the pass.
      const rows = await queryRows<{ bars: Array<[number, number, number, number | null, number | null]> }>(
        ex,
        sql`SELECT coalesce(json_agg(json_build_array(
                     (extract(epoch FROM ts) * 1000)::float8, price, volume, high, low) ORDER BY ts), '[]') AS bars
            FROM (
              (SELECT ts, price, volume, high, low FROM prices
               WHERE symbol = ${symbol} AND ts < ${from.toISOString()}::timestamptz
               ORDER BY ts DESC LIMIT ${range.barsBefore})
              UNION ALL
              (SELECT ts, price, volume, high, low FROM prices
               WHERE symbol = ${symbol} AND ts >= ${from.toISOString()}::timestamptz
                 AND ts < ${range.end.toISOString()}::timestamptz)
            ) b`,
      );
      const bars = rows[0]?.bars ?? [];
      if (bars.length === 0) {
        const known = await queryRows(ex, sql`SELECT 1 FROM symbols WHERE symbol = ${symbol}`);
        if (known.length === 0) return undefined;
      }
      return bars.map(([ts, price, volume, high, low]) => ({ ts, price, volume: Number(volume), high, low }));
    },
  };
}

export type NotificationsRepo = ReturnType<typeof createNotificationsRepo>;
