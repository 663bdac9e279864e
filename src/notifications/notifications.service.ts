import type { Database } from '../db/connect.ts';
import type { ChannelConfig, ConditionKind, ConditionParams } from '../db/schema-notifications.ts';
import type { Clock } from '../shared/clock.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { type BacktestRule, runBacktest } from './backtest.ts';
import { describeCondition, parseCondition } from './conditions.ts';
import { barsNeeded, isIndicatorKind, nyMidnightBefore, variantOf, WEEKS_52_DAYS } from './indicators.ts';
import type { NotificationRow, NotificationsRepo } from './notifications.repo.ts';
import {
  type BacktestInput,
  type BacktestResult,
  type CreateNotificationInput,
  type ListQuery,
  MAX_BACKTEST_DAYS,
  type NotificationView,
  type PatchNotificationInput,
} from './notifications.schemas.ts';

const DEFAULT_COOLDOWN_MINUTES = 60;

export interface Caller {
  id: string;
}

export function createNotificationsService(deps: {
  db: Database;
  repo: NotificationsRepo;
  clock: Clock;
  maxPerUser: number;
  /** Refuses webhook URLs the notifier must not call (private networks unless allowed). */
  checkWebhookUrl: (url: string) => string | undefined;
  /** Whether a saved channel (`{type:'channel', id}`) is the user's; another user's is as missing. */
  ownsChannel?: (userId: string, channelId: string) => Promise<boolean>;
}) {
  const { db, repo, clock } = deps;

  const notFound = (id: string) => new NotFoundError(`Notification '${id}' not found`);

  async function validateChannels(channels: ChannelConfig[] | undefined, userId: string) {
    for (const [i, channel] of (channels ?? []).entries()) {
      if (channel.type === 'channel' && !(await deps.ownsChannel?.(userId, channel.id)))
        throw new ValidationError(`Channel '${channel.id}' not found`, [
          { pointer: `/channels/${i}/id`, detail: 'no channel of yours has this id' },
        ]);
      if (channel.type !== 'webhook') continue;
      const problem = deps.checkWebhookUrl(channel.url);
      if (problem)
        throw new ValidationError(`Webhook '${channel.url}' is refused: ${problem}`, [
          { pointer: `/channels/${i}/url`, detail: problem },
        ]);
    }
  }

  return {
    async create(caller: Caller, input: CreateNotificationInput): Promise<NotificationView> {
      if (input.user_id !== undefined && input.user_id !== caller.id)
        throw new ForbiddenError(`user_id '${input.user_id}' is not yours`);
      const { kind, threshold, params, variant } = resolveCondition(input.condition, input.threshold, input);
      await validateChannels(input.channels, caller.id);
      if ((await repo.countForUser(db, caller.id)) >= deps.maxPerUser)
        throw new ConflictError(
          `You already have ${deps.maxPerUser} notifications, the most one account may have`,
        );
      const row = await repo.insert(db, {
        userId: caller.id,
        symbol: input.symbol,
        kind,
        threshold,
        params,
        variant,
        cooldownMinutes: input.cooldown_minutes ?? DEFAULT_COOLDOWN_MINUTES,
        trigger: input.trigger ?? 'recurring',
        expiresAt: input.expires_at ? new Date(input.expires_at) : null,
        channels: input.channels ?? [{ type: 'email' }],
        // Millisecond precision, like the cursor that pages through it.
        createdAt: clock.now(),
      });
      return toView(row, clock.now());
    },

    async get(caller: Caller, id: string): Promise<NotificationView> {
      const row = await repo.findForUser(db, caller.id, id);
      if (!row) throw notFound(id);
      return toView(row, clock.now());
    },

    async list(caller: Caller, query: ListQuery) {
      const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
      const after = cursor && { createdAt: cursor.at, id: cursor.id };
      const rows = await repo.listForUser(db, caller.id, {
        limit: query.limit + 1,
        ...(after && { after }),
        ...(query.symbol && { symbol: query.symbol }),
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      const now = clock.now();
      return {
        data: page.map((row) => toView(row, now)),
        next_cursor: rows.length > query.limit && last ? encodeCursor(last.createdAt, last.id) : null,
      };
    },

    async update(caller: Caller, id: string, patch: PatchNotificationInput): Promise<NotificationView> {
      const current = await repo.findForUser(db, caller.id, id);
      if (!current) throw notFound(id);
      await validateChannels(patch.channels, caller.id);
      const changes: Partial<NotificationRow> = {};
      const paramsPatched = PARAM_FIELDS.some((f) => patch[f] !== undefined);
      if (patch.condition !== undefined || patch.threshold !== undefined || paramsPatched) {
        // A new condition text carries its own number; otherwise the stored threshold and parameters stay
        // while the kind does (a new kind starts from the parameters sent with it).
        const parsed = patch.condition === undefined ? undefined : parseCondition(patch.condition);
        const sameKind = !parsed || parsed.kind === current.kind;
        const kept = sameKind && usesThreshold(current.kind) ? current.threshold : undefined;
        const resolved = resolveCondition(
          patch.condition ?? current.kind,
          patch.threshold ?? parsed?.number ?? kept,
          {
            ...(sameKind ? current.params : {}),
            ...definedParams(patch),
          },
        );
        changes.kind = resolved.kind;
        changes.threshold = resolved.threshold;
        changes.params = resolved.params;
        changes.variant = resolved.variant;
      }
      if (patch.paused !== undefined) changes.paused = patch.paused;
      if (patch.cooldown_minutes !== undefined) changes.cooldownMinutes = patch.cooldown_minutes;
      if (patch.trigger !== undefined) changes.trigger = patch.trigger;
      if (patch.expires_at !== undefined)
        changes.expiresAt = patch.expires_at ? new Date(patch.expires_at) : null;
      if (patch.channels !== undefined) changes.channels = patch.channels;
      // A changed rule is a new rule: a `once` that fired arms again, and the old cooldown no longer applies.
      if (changes.kind !== undefined || patch.trigger !== undefined) {
        changes.done = false;
        changes.nextEligibleAt = null;
      }
      const row = await repo.updateForUser(db, caller.id, id, changes);
      if (!row) throw notFound(id);
      return toView(row, clock.now());
    },

    async remove(caller: Caller, id: string): Promise<void> {
      if (!(await repo.deleteForUser(db, caller.id, id))) throw notFound(id);
    },

    /**
     * Every time a rule would have fired on the stored prices of [start_time, end_time), with its
     * cooldown and trigger: one SQL fetch (the range plus the history the condition looks back on),
     * then one pass applying the same specification as live evaluation (indicators.ts).
     */
    async backtest(_caller: Caller, input: BacktestInput): Promise<BacktestResult> {
      const started = performance.now();
      const { kind, threshold, params } = resolveCondition(input.condition, input.threshold, input);
      const end = input.end_time ? new Date(input.end_time) : clock.now();
      const start = input.start_time
        ? new Date(input.start_time)
        : new Date(end.getTime() - DEFAULT_BACKTEST_DAYS * DAY_MS);
      if (start >= end)
        throw new ValidationError('start_time must be before end_time', [
          { pointer: '/start_time', detail: 'must be before end_time' },
        ]);
      if (end.getTime() - start.getTime() > MAX_BACKTEST_DAYS * DAY_MS)
        throw new ValidationError(`A backtest covers at most ${MAX_BACKTEST_DAYS} days`, [
          { pointer: '/start_time', detail: `at most ${MAX_BACKTEST_DAYS} days before end_time` },
        ]);
      const rule: BacktestRule = {
        kind,
        threshold,
        params: params ?? {},
        cooldownMinutes: input.cooldown_minutes ?? DEFAULT_COOLDOWN_MINUTES,
        once: input.trigger === 'once',
      };
      const from = lookbackStart(rule, start.getTime());
      const bars = await repo.series(db, input.symbol, {
        from: new Date(from),
        // One bar before the lookback: the previous close of the first day, the previous price of a crossing.
        barsBefore: Math.max(1, isIndicatorKind(kind) ? barsNeeded(kind, rule.params) : 0),
        start,
        end,
      });
      if (bars === undefined) throw new NotFoundError(`Symbol '${input.symbol}' not found`);
      const result = runBacktest(rule, bars, start.getTime(), end.getTime());
      return {
        symbol: input.symbol,
        start_time: start.toISOString(),
        end_time: end.toISOString(),
        count: result.firings.length,
        firings: result.firings.slice(0, MAX_BACKTEST_FIRINGS).map((f) => ({
          timestamp: new Date(f.ts).toISOString(),
          price: f.price,
          detail: f.detail,
        })),
        truncated: result.firings.length > MAX_BACKTEST_FIRINGS,
        evaluated_points: result.evaluated,
        took_ms: Math.round((performance.now() - started) * 10) / 10,
      };
    },
  };
}

const DAY_MS = 86_400_000;
const DEFAULT_BACKTEST_DAYS = 30;
const MAX_BACKTEST_FIRINGS = 5000;

/** The earliest price time the rule's first judged bar can look back to. */
function lookbackStart(rule: BacktestRule, start: number): number {
  switch (rule.kind) {
    case 'change_pct_from_close':
      return nyMidnightBefore(start, 0);
    case 'move_pct_within':
      return start - (rule.params.window_minutes ?? 0) * 60_000;
    case 'new_high_52w':
    case 'new_low_52w':
      return nyMidnightBefore(start, WEEKS_52_DAYS);
    default:
      return start;
  }
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;

const PARAM_FIELDS = ['direction', 'window_minutes', 'periods', 'fast', 'slow'] as const;
type ParamField = (typeof PARAM_FIELDS)[number];

function definedParams(input: ConditionParams): ConditionParams {
  const out: Record<string, unknown> = {};
  for (const f of PARAM_FIELDS) if (input[f] !== undefined) out[f] = input[f];
  return out as ConditionParams;
}

/** Which parameters each indicator kind takes; the level kinds take none. */
const KIND_FIELDS: Record<string, readonly ParamField[]> = {
  change_pct_from_close: ['direction'],
  move_pct_within: ['direction', 'window_minutes'],
  new_high_52w: [],
  new_low_52w: [],
  sma_cross: ['direction', 'fast', 'slow'],
  volume_spike: ['periods'],
};

/** 52-week extremes and SMA crossings are events without a level. */
const usesThreshold = (kind: ConditionKind) =>
  kind !== 'new_high_52w' && kind !== 'new_low_52w' && kind !== 'sma_cross';

export interface ResolvedRule {
  kind: ConditionKind;
  threshold: number;
  params: ConditionParams | null;
  variant: string | null;
}

/**
 * Reconciles the condition text with `threshold` (the seed sends both, and they must agree), and checks
 * that an indicator kind has exactly the parameters it uses.
 */
function resolveCondition(
  condition: string,
  threshold: number | undefined,
  input: ConditionParams = {},
): ResolvedRule {
  const resolved = resolveLevel(condition, threshold);
  const { kind } = resolved;
  const allowed = KIND_FIELDS[kind] ?? [];
  for (const field of PARAM_FIELDS)
    if (input[field] !== undefined && !allowed.includes(field))
      throw new ValidationError(`${field} does not apply to ${kind}`, [
        { pointer: `/${field}`, detail: `not used by ${kind}` },
      ]);
  if (!isIndicatorKind(kind)) return { ...resolved, params: null, variant: null };
  const params: ConditionParams = {};
  const missing = (field: ParamField, detail: string) =>
    new ValidationError(`${kind} needs ${field}`, [{ pointer: `/${field}`, detail }]);
  if (kind === 'change_pct_from_close' || kind === 'move_pct_within')
    params.direction = input.direction ?? 'either';
  if (kind === 'move_pct_within') {
    if (input.window_minutes === undefined)
      throw missing('window_minutes', 'required for move_pct_within, 1–1440');
    params.window_minutes = input.window_minutes;
  }
  if (kind === 'volume_spike') params.periods = input.periods ?? DEFAULT_VOLUME_PERIODS;
  if (kind === 'sma_cross') {
    const direction = input.direction ?? 'up';
    if (direction === 'either')
      throw new ValidationError('sma_cross needs direction up or down', [
        { pointer: '/direction', detail: 'up (fast crosses above slow) or down' },
      ]);
    if (input.fast === undefined) throw missing('fast', 'required for sma_cross, e.g. 50');
    if (input.slow === undefined) throw missing('slow', 'required for sma_cross, e.g. 200');
    if (!(input.fast < input.slow))
      throw new ValidationError(`fast (${input.fast}) must be fewer bars than slow (${input.slow})`, [
        { pointer: '/fast', detail: 'must be less than slow' },
      ]);
    Object.assign(params, { direction, fast: input.fast, slow: input.slow });
  }
  return { ...resolved, params, variant: variantOf(kind, params) };
}

const DEFAULT_VOLUME_PERIODS = 20;

function resolveLevel(
  condition: string,
  threshold: number | undefined,
): { kind: ConditionKind; threshold: number } {
  const parsed = parseCondition(condition);
  if (!parsed)
    throw new ValidationError(`Unknown condition '${condition}'`, [
      {
        pointer: '/condition',
        detail:
          'expected "price > N" (or >=, <, <=, "price crosses above|below N") or above, at_or_above, below, ' +
          'at_or_below, crosses_above, crosses_below, change_pct_from_close, move_pct_within, new_high_52w, ' +
          'new_low_52w, sma_cross, volume_spike',
      },
    ]);
  if (!usesThreshold(parsed.kind)) {
    if (threshold !== undefined)
      throw new ValidationError(`${parsed.kind} takes no threshold`, [
        { pointer: '/threshold', detail: `not used by ${parsed.kind}` },
      ]);
    return { kind: parsed.kind, threshold: 0 };
  }
  if (parsed.number !== undefined && threshold !== undefined && parsed.number !== threshold)
    throw new ValidationError(
      `The condition '${condition}' says ${parsed.number} but threshold is ${threshold}`,
      [{ pointer: '/threshold', detail: `must match the number in the condition (${parsed.number})` }],
    );
  const value = threshold ?? parsed.number;
  if (value === undefined || !(value > 0))
    throw new ValidationError('A threshold is required', [
      { pointer: '/threshold', detail: 'required, a number > 0' },
    ]);
  return { kind: parsed.kind, threshold: value };
}

export function toView(row: NotificationRow, now: Date): NotificationView {
  const status = row.done
    ? 'done'
    : row.expiresAt && row.expiresAt <= now
      ? 'expired'
      : row.paused
        ? 'paused'
        : 'active';
  return {
    id: row.id,
    symbol: row.symbol,
    condition: row.kind,
    condition_text: describeCondition(row.kind, row.threshold, row.params),
    threshold: row.threshold,
    ...(row.params ?? {}),
    cooldown_minutes: row.cooldownMinutes,
    trigger: row.trigger,
    expires_at: row.expiresAt?.toISOString() ?? null,
    channels: row.channels,
    status,
    last_fired_at: row.lastFiredAt?.toISOString() ?? null,
    fire_count: row.fireCount,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
