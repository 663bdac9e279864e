import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { user } from '../auth/auth.schema.ts';

export type ConditionKind =
  | 'above'
  | 'at_or_above'
  | 'below'
  | 'at_or_below'
  | 'crosses_above'
  | 'crosses_below'
  // Indicator kinds (issue 7): their parameters live in `params`, canonicalised into `variant`.
  | 'change_pct_from_close'
  | 'move_pct_within'
  | 'new_high_52w'
  | 'new_low_52w'
  | 'sma_cross'
  | 'volume_spike';

/** Parameters of the indicator kinds, as the API names them. */
export interface ConditionParams {
  direction?: 'up' | 'down' | 'either';
  window_minutes?: number;
  periods?: number;
  fast?: number;
  slow?: number;
}

/** Where a notification sends: inline email / webhook, or a channel the user saved (`user_channels`). */
export type ChannelConfig =
  | { type: 'email' }
  | { type: 'webhook'; url: string }
  | { type: 'channel'; id: string };

export type SavedChannelType = 'ntfy' | 'slack' | 'discord' | 'telegram' | 'webhook' | 'email';

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
// Deleting an account deletes everything of it.
const owner = () =>
  text('user_id')
    .notNull()
    .references(() => user.id, { onDelete: 'cascade' });

/** A user's rule. `next_eligible_at` is the end of the cooldown: a claim sets it, a claim requires it passed. */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: owner(),
    symbol: text('symbol').notNull(),
    kind: text('kind').$type<ConditionKind>().notNull(),
    threshold: doublePrecision('threshold').notNull(),
    /** Indicator kinds only: their parameters, and the same as one canonical key (`w15:up`) for the index. */
    params: jsonb('params').$type<ConditionParams>(),
    variant: text('variant'),
    cooldownMinutes: integer('cooldown_minutes').notNull().default(60),
    trigger: text('trigger').$type<'recurring' | 'once'>().notNull().default('recurring'),
    expiresAt: tz('expires_at'),
    paused: boolean('paused').notNull().default(false),
    /** A `once` rule that fired: kept for the history, never evaluated again. */
    done: boolean('done').notNull().default(false),
    channels: jsonb('channels').$type<ChannelConfig[]>().notNull(),
    lastFiredAt: tz('last_fired_at'),
    nextEligibleAt: tz('next_eligible_at'),
    fireCount: integer('fire_count').notNull().default(0),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // Evaluation is a range scan per (symbol, kind) over the threshold, among armed rules only.
    index('notifications_armed_idx')
      .on(t.symbol, t.kind, t.threshold)
      .where(sql`NOT ${t.paused} AND NOT ${t.done}`),
    // Indicator kinds: a skip scan finds the symbol's distinct (kind, variant) pairs, then each pair is
    // a range scan over the threshold, exactly like the level kinds.
    index('notifications_armed_variant_idx')
      .on(t.symbol, t.kind, t.variant, t.threshold)
      .where(sql`NOT ${t.paused} AND NOT ${t.done} AND ${t.variant} IS NOT NULL`),
    // When a cooling rule becomes eligible again: how long the evaluator's summary of a symbol's rules,
    // which leaves cooling rules out, stays true (src/notifications/evaluator.ts).
    index('notifications_cooling_idx')
      .on(t.symbol, t.nextEligibleAt)
      .where(sql`NOT ${t.paused} AND NOT ${t.done}`),
    index('notifications_user_idx').on(t.userId, t.createdAt),
  ],
);

/**
 * A value of `notification_version_seq` per symbol, replaced by triggers (migration 0007) whenever an
 * armed rule of the symbol appears, disappears or changes what it fires on: an evaluator's cached
 * summary of the symbol's rules is current exactly while this value is the one it was read with.
 */
export const notificationVersions = pgTable('notification_versions', {
  symbol: text('symbol').primaryKey(),
  version: bigint('version', { mode: 'bigint' }).notNull(),
});

/** One firing of a notification: the outbox row written in the same transaction as the claim. */
export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    notificationId: uuid('notification_id').references(() => notifications.id, { onDelete: 'set null' }),
    userId: owner(),
    symbol: text('symbol').notNull(),
    kind: text('kind').$type<ConditionKind>().notNull(),
    threshold: doublePrecision('threshold').notNull(),
    price: doublePrecision('price').notNull(),
    priceAt: tz('price_at').notNull(),
    firedAt: tz('fired_at').notNull(),
  },
  (t) => [index('alerts_user_idx').on(t.userId, t.firedAt)],
);

/** `dropped`: not sent on purpose (quiet hours with mode `drop`). */
export type DeliveryStatus = 'pending' | 'sent' | 'failed' | 'dropped';

/** One message for an alert through one channel, with its attempts. Notifiers claim them with SKIP LOCKED. */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    alertId: uuid('alert_id')
      .notNull()
      .references(() => alerts.id, { onDelete: 'cascade' }),
    userId: owner(),
    channel: jsonb('channel').$type<ChannelConfig>().notNull(),
    status: text('status').$type<DeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tz('next_attempt_at').notNull(),
    leaseUntil: tz('lease_until'),
    leasedBy: text('leased_by'),
    lastError: text('last_error'),
    lastAttemptAt: tz('last_attempt_at'),
    sentAt: tz('sent_at'),
  },
  (t) => [
    index('deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('deliveries_alert_idx').on(t.alertId),
    // Grouping: a user's due deliveries per channel, and what went out to it lately (src/alerts/deliveries.repo.ts).
    index('deliveries_user_pending_idx').on(t.userId, t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('deliveries_user_recent_idx').on(t.userId, t.lastAttemptAt),
  ],
);

/** The built-in mailbox: where email goes when no SMTP server or SES is configured. */
export const mailbox = pgTable(
  'mailbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: owner(),
    messageId: text('message_id').notNull().unique(),
    to: text('to').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [index('mailbox_user_idx').on(t.userId, t.createdAt)],
);

/** Per-user settings the notifier needs; the webhook secret signs every webhook body of the user. */
export const userSettings = pgTable('user_settings', {
  userId: text('user_id')
    .primaryKey()
    .references(() => user.id, { onDelete: 'cascade' }),
  webhookSecret: text('webhook_secret').notNull(),
  /** Alerts to one channel within this many seconds of a message go out together (0: never grouped). */
  groupWindowSeconds: integer('group_window_seconds').notNull().default(30),
  /** Quiet hours, local wall-clock `HH:MM` in `quiet_time_zone` (IANA); null: none. */
  quietStart: text('quiet_start'),
  quietEnd: text('quiet_end'),
  quietTimeZone: text('quiet_time_zone'),
  quietMode: text('quiet_mode').$type<'hold' | 'drop'>().notNull().default('hold'),
  updatedAt: tz('updated_at').notNull().defaultNow(),
});

/**
 * A channel a user saved once and names in notifications (`{type:'channel', id}`). `config` holds the
 * type's settings, secrets included (bot tokens, webhook URLs): the API never returns them.
 */
export const userChannels = pgTable(
  'user_channels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: owner(),
    type: text('type').$type<SavedChannelType>().notNull(),
    name: text('name').notNull(),
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [index('user_channels_user_idx').on(t.userId, t.createdAt)],
);
