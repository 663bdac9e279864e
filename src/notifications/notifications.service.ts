import type { Database } from '../db/connect.ts';
import type { ChannelConfig, ConditionKind } from '../db/schema-notifications.ts';
import type { Clock } from '../shared/clock.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { describeCondition, parseCondition } from './conditions.ts';
import type { NotificationRow, NotificationsRepo } from './notifications.repo.ts';
import type {
  CreateNotificationInput,
  ListQuery,
  NotificationView,
  PatchNotificationInput,
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
}) {
  const { db, repo, clock } = deps;

  const notFound = (id: string) => new NotFoundError(`Notification '${id}' not found`);

  function validateChannels(channels: ChannelConfig[] | undefined) {
    for (const [i, channel] of (channels ?? []).entries()) {
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
      const { kind, threshold } = resolveCondition(input.condition, input.threshold);
      validateChannels(input.channels);
      if ((await repo.countForUser(db, caller.id)) >= deps.maxPerUser)
        throw new ConflictError(
          `You already have ${deps.maxPerUser} notifications, the most one account may have`,
        );
      const row = await repo.insert(db, {
        userId: caller.id,
        symbol: input.symbol,
        kind,
        threshold,
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
      validateChannels(patch.channels);
      const changes: Partial<NotificationRow> = {};
      if (patch.condition !== undefined || patch.threshold !== undefined) {
        // A new condition text carries its own number; otherwise the stored threshold stays.
        const written = patch.condition === undefined ? undefined : parseCondition(patch.condition)?.number;
        const resolved = resolveCondition(
          patch.condition ?? current.kind,
          patch.threshold ?? written ?? current.threshold,
        );
        changes.kind = resolved.kind;
        changes.threshold = resolved.threshold;
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
  };
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;

/** Reconciles the condition text with `threshold`: the seed sends both, and they must agree. */
function resolveCondition(
  condition: string,
  threshold: number | undefined,
): { kind: ConditionKind; threshold: number } {
  const parsed = parseCondition(condition);
  if (!parsed)
    throw new ValidationError(`Unknown condition '${condition}'`, [
      {
        pointer: '/condition',
        detail:
          'expected "price > N" (or >=, <, <=, "price crosses above|below N") or above, at_or_above, below, at_or_below, crosses_above, crosses_below',
      },
    ]);
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
    condition_text: describeCondition(row.kind, row.threshold),
    threshold: row.threshold,
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
