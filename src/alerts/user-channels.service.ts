import { randomUUID } from 'node:crypto';
import type { Database } from '../db/connect.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../shared/errors.ts';
import type { ChannelSet, Target } from './channels/channel.ts';
import type { LeasedDelivery } from './deliveries.repo.ts';
import { renderAlertMessage } from './message.ts';
import { sendThrough } from './notifier.ts';
import { accountOf, type UserChannelRow, type UserChannelsRepo } from './user-channels.repo.ts';
import {
  type ChannelView,
  type CreateChannelInput,
  channelConfigSchemas,
  type NotificationSettings,
  type PatchChannelInput,
  type SavedType,
  SECRET_FIELDS,
  URL_FIELDS,
} from './user-channels.schemas.ts';

/** The service behind a channel refused or failed a test message: its own words, as a 502. */
export class UpstreamError extends AppError {
  readonly status = 502;
  readonly title = 'Bad gateway';
}

interface Caller {
  id: string;
}

/** Enough for anyone's set of phones and chats; a bound keeps one account from filling a table. */
export const MAX_CHANNELS_PER_USER = 50;

/** What a masked secret looks like: the URL's origin, or a token's last four characters. */
export function mask(value: unknown): string {
  const text = String(value);
  if (URL.canParse(text)) return `${new URL(text).origin}/…`;
  return text.length > 8 ? `…${text.slice(-4)}` : '…';
}

export function createUserChannelsService(deps: {
  db: Database;
  repo: UserChannelsRepo;
  channels: ChannelSet;
  clock: Clock;
  publicUrl: string;
  /** Refuses URLs the notifier must not call (private networks unless allowed). */
  checkUrl: (url: string) => string | undefined;
}) {
  const { db, repo } = deps;
  const notFound = (id: string) => new NotFoundError(`Channel '${id}' not found`);

  /** The type's schema on the merged settings, and the private-address rule on its URLs. */
  function validConfig(type: SavedType, config: Record<string, unknown>): Record<string, unknown> {
    const parsed = channelConfigSchemas[type].safeParse(config);
    if (!parsed.success)
      throw new ValidationError(
        `The ${type} channel's config is invalid`,
        parsed.error.issues.map((i) => ({
          pointer: `/config${i.path.map((p) => `/${String(p)}`).join('')}`,
          detail: i.message,
        })),
      );
    const valid = parsed.data as Record<string, unknown>;
    for (const field of URL_FIELDS[type]) {
      const problem = typeof valid[field] === 'string' ? deps.checkUrl(valid[field]) : undefined;
      if (problem)
        throw new ValidationError(`The ${type} channel's ${field} is refused: ${problem}`, [
          { pointer: `/config/${field}`, detail: problem },
        ]);
    }
    return valid;
  }

  function toView(row: UserChannelRow): ChannelView {
    const config = { ...row.config };
    for (const field of SECRET_FIELDS[row.type]) if (field in config) config[field] = mask(config[field]);
    return {
      id: row.id,
      type: row.type,
      name: row.name,
      config,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
  }

  return {
    async list(caller: Caller) {
      return { data: (await repo.listForUser(db, caller.id)).map(toView) };
    },

    async get(caller: Caller, id: string): Promise<ChannelView> {
      const row = await repo.findForUser(db, caller.id, id);
      if (!row) throw notFound(id);
      return toView(row);
    },

    async create(caller: Caller, input: CreateChannelInput): Promise<ChannelView> {
      const config = validConfig(input.type, input.config);
      if ((await repo.countForUser(db, caller.id)) >= MAX_CHANNELS_PER_USER)
        throw new ConflictError(
          `You already have ${MAX_CHANNELS_PER_USER} channels, the most one account may have`,
        );
      return toView(await repo.insert(db, { userId: caller.id, type: input.type, name: input.name, config }));
    },

    /** `config` is merged into the stored one: a form may leave the (masked) secrets out. */
    async update(caller: Caller, id: string, patch: PatchChannelInput): Promise<ChannelView> {
      const current = await repo.findForUser(db, caller.id, id);
      if (!current) throw notFound(id);
      const changes: Partial<Pick<UserChannelRow, 'name' | 'config'>> = {};
      if (patch.name !== undefined) changes.name = patch.name;
      if (patch.config !== undefined)
        changes.config = validConfig(current.type, { ...current.config, ...patch.config });
      const row = await repo.updateForUser(db, caller.id, id, changes);
      if (!row) throw notFound(id);
      return toView(row);
    },

    /** A channel that notifications still name is kept: their alerts would have nowhere to go. */
    async remove(caller: Caller, id: string): Promise<void> {
      const current = await repo.findForUser(db, caller.id, id);
      if (!current) throw notFound(id);
      const uses = await repo.countUses(db, caller.id, id);
      if (uses > 0)
        throw new ConflictError(
          `Channel '${id}' is used by ${uses} notification${uses === 1 ? '' : 's'}; change ${uses === 1 ? 'it' : 'them'} first`,
        );
      if (!(await repo.deleteForUser(db, caller.id, id))) throw notFound(id);
    },

    /** Sends a sample alert now, through the very module the notifier uses, and reports the outcome. */
    async test(caller: Caller, id: string) {
      const row = await repo.findForUser(db, caller.id, id);
      if (!row) throw notFound(id);
      const account = await accountOf(db, caller.id);
      const now = deps.clock.now();
      const sample: LeasedDelivery = {
        id: randomUUID(),
        alertId: randomUUID(),
        notificationId: null,
        userId: caller.id,
        userEmail: account.email,
        userName: account.name,
        channel: { type: 'channel', id: row.id },
        target: { ...row.config, type: row.type } as Target,
        groupKey: '',
        quietHours: null,
        attempts: 1,
        previousAttemptAt: null,
        symbol: 'TEST',
        kind: 'above',
        threshold: 100,
        price: 101.5,
        priceAt: now,
        firedAt: now,
      };
      const message = renderAlertMessage(sample, deps.publicUrl);
      message.subject = `Stockwatch test message for "${row.name}"`;
      try {
        await sendThrough(deps.channels, sample.target!, sample, message);
      } catch (error) {
        throw new UpstreamError(`Test message not delivered: ${(error as Error).message ?? String(error)}`);
      }
      return { ok: true as const, detail: `Test message sent to ${row.type} channel "${row.name}"` };
    },

    /** For notifications: may this user send through this saved channel? Others' ids are as missing. */
    async owns(userId: string, id: string): Promise<boolean> {
      return (await repo.findForUser(db, userId, id)) !== undefined;
    },

    async settings(caller: Caller): Promise<NotificationSettings> {
      const s = await repo.settings(db, caller.id);
      return {
        group_window_seconds: s.groupWindowSeconds,
        quiet_hours: s.quiet
          ? { start: s.quiet.start, end: s.quiet.end, time_zone: s.quiet.timeZone, mode: s.mode }
          : null,
      };
    },

    async saveSettings(caller: Caller, input: NotificationSettings): Promise<NotificationSettings> {
      const q = input.quiet_hours;
      await repo.saveSettings(db, caller.id, {
        groupWindowSeconds: input.group_window_seconds,
        quiet: q ? { start: q.start, end: q.end, timeZone: q.time_zone, mode: q.mode } : null,
      });
      return input;
    },
  };
}

export type UserChannelsService = ReturnType<typeof createUserChannelsService>;
