import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import { type ChannelConfig, type ConditionKind, notifications } from '../db/schema-notifications.ts';
import { LEVEL_KINDS, type LevelKind } from './conditions.ts';
import { type Bar, type IndicatorKind, isIndicatorKind } from './indicators.ts';
import { type PriceState, type StateNeeds, stateRequest, type WatchedVariant } from './price-state.ts';

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

/**
 * A symbol's armed rules that are not cooling down, summarised (notification_versions.version says when
 * it changed): a price fires none of them unless it passes these bounds, so most prices cost no statement
 * at all.
 */
export interface RuleSummary {
  symbol: string;
  version: string;
  /**
   * The price times it holds for: it leaves out the rules cooling down at `from`, so it is true until
   * the first of them becomes eligible again (`validBefore`), or until the version changes (as a firing
   * changes it).
   */
  from: number;
  validBefore: number;
  /** Per level kind present, its lowest and highest threshold. */
  levels: Partial<Record<LevelKind, { min: number; max: number }>>;
  /** The indicator (kind, variant) pairs present, each with its lowest threshold. */
  variants: Array<WatchedVariant & { min: number }>;
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
     * The first statement of a claim: the rules whose condition holds (cooling rules left out), by index
     * range scans on (symbol, kind[, variant], threshold) among armed rules: O(log n + matches) whatever
     * the number of rules. The evaluator only runs it when a price passes a bound of the symbol's rule
     * summary.
     */
    async findCandidates(
      ex: Executor,
      prices: FreshPrice[],
      indicators: IndicatorMetric[],
    ): Promise<Candidate[]> {
      if (prices.length === 0 && indicators.length === 0) return [];
      // Indicator rules: one range scan per (symbol, kind, variant) over the threshold, like the levels.
      const indicatorScan = sql`SELECT c.id, m.price, NULL::float8 AS previous, m.at, m.kind, m.variant, m.metric
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
                AND (next_eligible_at IS NULL OR next_eligible_at <= m.at)
            ) c`;
      const levelScan = sql`SELECT c.id, i.price, i.previous, i.at, NULL::text AS kind, NULL::text AS variant,
                   NULL::float8 AS metric
            FROM unnest(
              ${sql.param(prices.map((p) => p.symbol))}::text[],
              ${sql.param(prices.map((p) => p.price))}::float8[],
              ${sql.param(prices.map((p) => p.previous))}::float8[],
              ${sql.param(prices.map((p) => p.priceAt.toISOString()))}::timestamptz[]
            ) AS i(symbol, price, previous, at)
            CROSS JOIN LATERAL (
              SELECT id FROM (
              SELECT id, next_eligible_at FROM notifications WHERE symbol = i.symbol AND NOT paused AND NOT done
                AND kind = 'above' AND threshold < i.price
              UNION ALL SELECT id, next_eligible_at FROM notifications WHERE symbol = i.symbol AND NOT paused
                AND NOT done AND kind = 'at_or_above' AND threshold <= i.price
              UNION ALL SELECT id, next_eligible_at FROM notifications WHERE symbol = i.symbol AND NOT paused
                AND NOT done AND kind = 'below' AND threshold > i.price
              UNION ALL SELECT id, next_eligible_at FROM notifications WHERE symbol = i.symbol AND NOT paused
                AND NOT done AND kind = 'at_or_below' AND threshold >= i.price
              UNION ALL SELECT id, next_eligible_at FROM notifications WHERE symbol = i.symbol AND NOT paused
                AND NOT done AND kind = 'crosses_above' AND threshold > i.previous AND threshold <= i.price
              UNION ALL SELECT id, next_eligible_at FROM notifications WHERE symbol = i.symbol AND NOT paused
                AND NOT done AND kind = 'crosses_below' AND threshold < i.previous AND threshold >= i.price
              ) k WHERE k.next_eligible_at IS NULL OR k.next_eligible_at <= i.at
            ) c`;
      const parts = [
        ...(prices.length > 0 ? [levelScan] : []),
        ...(indicators.length > 0 ? [indicatorScan] : []),
      ];
      return queryRows<Candidate>(ex, sql.join(parts, sql` UNION ALL `));
    },

    /**
     * The symbols' armed rules summarised, with the version they were read at (one statement, so the
     * two agree): per level kind the lowest and highest threshold, per indicator (kind, variant) the
     * lowest. A symbol without rules comes back with none. Index probes only, however many rules share
     * a symbol: two per level kind on `notifications_armed_idx`, and a skip scan of
     * `notifications_armed_variant_idx` whose first entry per (kind, variant) holds its lowest threshold.
     */
    async ruleSummaries(ex: Executor, requests: Array<{ symbol: string; at: Date }>): Promise<RuleSummary[]> {
      if (requests.length === 0) return [];
      const eligible = sql`(n.next_eligible_at IS NULL OR n.next_eligible_at <= i.at)`;
      const at = new Map(requests.map((r) => [r.symbol, r.at.getTime()]));
      const rows = await queryRows<{
        symbol: string;
        version: string;
        kind: string | null;
        variant: string | null;
        lo: number | null;
        hi: number | null;
        valid_before: number | null;
      }>(
        ex,
        sql`SELECT i.symbol, coalesce(v.version, 0)::text AS version, r.kind, r.variant, r.lo, r.hi,
                   (extract(epoch FROM w.next) * 1000)::float8 AS valid_before
            FROM unnest(
              ${sql.param(requests.map((r) => r.symbol))}::text[],
              ${sql.param(requests.map((r) => r.at.toISOString()))}::timestamptz[]
            ) AS i(symbol, at)
            LEFT JOIN notification_versions v ON v.symbol = i.symbol
            -- The first cooling rule to become eligible again: the summary holds until then.
            CROSS JOIN LATERAL (
              SELECT (SELECT next_eligible_at FROM notifications n
                      WHERE n.symbol = i.symbol AND NOT n.paused AND NOT n.done AND n.next_eligible_at > i.at
                      ORDER BY next_eligible_at LIMIT 1) AS next
            ) w
            LEFT JOIN LATERAL (
              SELECT k.kind, NULL::text AS variant, lo.threshold AS lo, hi.threshold AS hi
              FROM unnest(${sql.param([...LEVEL_KINDS])}::text[]) AS k(kind)
              CROSS JOIN LATERAL (
                SELECT threshold FROM notifications n WHERE n.symbol = i.symbol AND n.kind = k.kind
                  AND NOT n.paused AND NOT n.done AND ${eligible} ORDER BY threshold LIMIT 1) lo
              CROSS JOIN LATERAL (
                SELECT threshold FROM notifications n WHERE n.symbol = i.symbol AND n.kind = k.kind
                  AND NOT n.paused AND NOT n.done AND ${eligible} ORDER BY threshold DESC LIMIT 1) hi
              UNION ALL
              SELECT x.kind, x.variant, x.threshold, NULL FROM (
                WITH RECURSIVE x AS (
                  (SELECT kind, variant, threshold FROM notifications n
                   WHERE symbol = i.symbol AND NOT paused AND NOT done AND variant IS NOT NULL AND ${eligible}
                   ORDER BY kind, variant, threshold LIMIT 1)
                  UNION ALL
                  SELECT nx.kind, nx.variant, nx.threshold FROM x CROSS JOIN LATERAL (
                    SELECT kind, variant, threshold FROM notifications n
                    WHERE symbol = i.symbol AND NOT paused AND NOT done AND variant IS NOT NULL AND ${eligible}
                      AND (kind, variant) > (x.kind, x.variant)
                    ORDER BY kind, variant, threshold LIMIT 1) nx
                )
                SELECT * FROM x
              ) x
            ) r ON true`,
      );
      const bySymbol = new Map<string, RuleSummary>();
      for (const r of rows) {
        let summary = bySymbol.get(r.symbol);
        if (!summary) {
          summary = {
            symbol: r.symbol,
            version: r.version,
            from: at.get(r.symbol)!,
            validBefore: r.valid_before === null ? Number.POSITIVE_INFINITY : Number(r.valid_before),
            levels: {},
            variants: [],
          };
          bySymbol.set(r.symbol, summary);
        }
        if (r.kind === null) continue;
        if (isIndicatorKind(r.kind)) {
          if (r.variant !== null) summary.variants.push({ kind: r.kind, variant: r.variant, min: r.lo! });
        } else summary.levels[r.kind as LevelKind] = { min: r.lo!, max: r.hi! };
      }
      return [...bySymbol.values()];
    },

    /**
     * The second statement: claims the candidates by primary key (kept apart from the scans so that the
     * planner never joins the UPDATE against the whole table) and records their alerts and deliveries.
     * It re-checks everything on the row it locks: when two transactions race for one rule, the second
     * waits for the first, sees the new next_eligible_at, and skips it; a rule edited meanwhile is judged
     * by its new condition. A rule therefore fires at most once per cooldown, and an alert exists exactly
     * when its claim committed.
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
     * Reads what the evaluator keeps about each symbol (price-state.ts) at its newest bar `at`, in one
     * statement of index range scans on `prices`: the newest `needs.bars` bars and every bar of the
     * longest window, the last price before the New York day, the extremes of the day's bars before
     * `at`, and — only for a 52-week rule and a price beyond today's range — the extremes of the 52
     * weeks before the day.
     */
    async priceStates(
      ex: Executor,
      requests: Array<{ symbol: string; at: number; price: number; needs: StateNeeds }>,
    ): Promise<Array<Omit<PriceState, 'revision' | 'history' | 'pending' | 'windows'> & { symbol: string }>> {
      if (requests.length === 0) return [];
      const windows = requests.map((r) => stateRequest(r.at, r.needs));
      const iso = (ms: number) => new Date(ms).toISOString();
      const rows = await queryRows<{
        symbol: string;
        bars: Array<[number, number, number, number | null, number | null]> | null;
        since: number | null;
        close: number | null;
        t_high: number | null;
        t_low: number | null;
        t_oldest: number | null;
        y_read: boolean;
        y_high: number | null;
        y_low: number | null;
        y_oldest: number | null;
      }>(
        ex,
        sql`SELECT i.symbol, r.bars, (extract(epoch FROM k.since) * 1000)::float8 AS since, pc.close,
                   t.high AS t_high, t.low AS t_low, t.oldest AS t_oldest,
                   y.read AS y_read, y.high AS y_high, y.low AS y_low, y.oldest AS y_oldest
            FROM unnest(
              ${sql.param(requests.map((r) => r.symbol))}::text[],
              ${sql.param(requests.map((r) => iso(r.at)))}::timestamptz[],
              ${sql.param(requests.map((r) => r.price))}::float8[],
              ${sql.param(requests.map((r) => r.needs.bars))}::int[],
              ${sql.param(requests.map((r) => r.needs.year))}::bool[],
              ${sql.param(windows.map((w) => iso(w.windowFrom)))}::timestamptz[],
              ${sql.param(windows.map((w) => iso(w.dayStart)))}::timestamptz[],
              ${sql.param(windows.map((w) => iso(w.from52)))}::timestamptz[]
            ) AS i(symbol, at, price, n, want_year, window_from, day_start, from52)
            -- The oldest bar held: the n-th newest or the window's start, whichever is earlier; every
            -- bar when the symbol has fewer than n.
            CROSS JOIN LATERAL (
              SELECT CASE WHEN nth.ts IS NULL THEN '-infinity'::timestamptz ELSE least(nth.ts, i.window_from) END AS since
              FROM (SELECT (SELECT ts FROM prices p WHERE p.symbol = i.symbol AND p.ts <= i.at
                            ORDER BY p.ts DESC OFFSET i.n - 1 LIMIT 1) AS ts) nth
            ) k
            CROSS JOIN LATERAL (
              SELECT json_agg(json_build_array((extract(epoch FROM ts) * 1000)::float8, price, volume, high, low)
                              ORDER BY ts) AS bars
              FROM prices p WHERE p.symbol = i.symbol AND p.ts >= k.since AND p.ts <= i.at
            ) r
            CROSS JOIN LATERAL (
              SELECT (SELECT price FROM prices p WHERE p.symbol = i.symbol AND p.ts < i.day_start
                      ORDER BY p.ts DESC LIMIT 1) AS close
            ) pc
            CROSS JOIN LATERAL (
              SELECT max(coalesce(high, price)) AS high, min(coalesce(low, price)) AS low,
                     (extract(epoch FROM min(ts)) * 1000)::float8 AS oldest
              FROM prices p WHERE p.symbol = i.symbol AND p.ts >= i.day_start AND p.ts < i.at
            ) t
            -- Gated by a one-time filter: the year is read only when it can matter.
            CROSS JOIN LATERAL (
              SELECT (i.want_year AND (t.high IS NULL OR i.price > t.high OR i.price < t.low)) AS read,
                     max(coalesce(high, price)) AS high, min(coalesce(low, price)) AS low,
                     (extract(epoch FROM min(ts)) * 1000)::float8 AS oldest
              FROM prices p
              WHERE i.want_year AND (t.high IS NULL OR i.price > t.high OR i.price < t.low)
                AND p.symbol = i.symbol AND p.ts >= i.from52 AND p.ts < i.day_start
            ) y`,
      );
      const byRequest = new Map(requests.map((q, k) => [q.symbol, windows[k]!]));
      return rows.map((r) => {
        const bars = r.bars ?? [];
        const extremes = (high: number | null, low: number | null, oldest: number | null) =>
          high === null || low === null || oldest === null ? null : { high, low, oldest: Number(oldest) };
        return {
          symbol: r.symbol,
          day: byRequest.get(r.symbol)!.dayStart,
          ts: bars.map((b) => Number(b[0])),
          price: bars.map((b) => b[1]),
          volume: bars.map((b) => Number(b[2])),
          high: bars.map((b) => b[3] ?? b[1]),
          low: bars.map((b) => b[4] ?? b[1]),
          since: r.since === null ? Number.NEGATIVE_INFINITY : Number(r.since),
          previousClose: r.close,
          today: extremes(r.t_high, r.t_low, r.t_oldest),
          year: r.y_read ? extremes(r.y_high, r.y_low, r.y_oldest) : undefined,
        };
      });
    },

    /**
     * The bars of each symbol after `after` up to `at`, oldest first (at most `limit`: a kept state that
     * far behind is read afresh instead). Index range scans on the primary key, one statement.
     */
    async barsAfter(
      ex: Executor,
      requests: Array<{ symbol: string; after: number; at: number }>,
      limit: number,
    ): Promise<Map<string, Bar[]>> {
      const result = new Map<string, Bar[]>();
      if (requests.length === 0) return result;
      const iso = (ms: number) => new Date(ms).toISOString();
      const rows = await queryRows<{
        symbol: string;
        bars: Array<[number, number, number, number | null, number | null]> | null;
      }>(
        ex,
        sql`SELECT i.symbol, b.bars
            FROM unnest(
              ${sql.param(requests.map((r) => r.symbol))}::text[],
              ${sql.param(requests.map((r) => iso(r.after)))}::timestamptz[],
              ${sql.param(requests.map((r) => iso(r.at)))}::timestamptz[]
            ) AS i(symbol, after, at)
            CROSS JOIN LATERAL (
              SELECT json_agg(json_build_array((extract(epoch FROM ts) * 1000)::float8, price, volume, high, low)
                              ORDER BY ts) AS bars
              FROM (SELECT ts, price, volume, high, low FROM prices p
                    WHERE p.symbol = i.symbol AND p.ts > i.after AND p.ts <= i.at ORDER BY p.ts LIMIT ${limit}) x
            ) b`,
      );
      for (const r of rows)
        result.set(
          r.symbol,
          (r.bars ?? []).map(([ts, price, volume, high, low]) => ({
            ts: Number(ts),
            price,
            volume: Number(volume),
            high,
            low,
          })),
        );
      return result;
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
