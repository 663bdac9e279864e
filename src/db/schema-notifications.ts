import { sql } from 'drizzle-orm';
import {
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
  | 'crosses_below';

export type ChannelConfig = { type: 'email' } | { type: 'webhook'; url: string };

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
    index('notifications_user_idx').on(t.userId, t.createdAt),
  ],
);

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

export type DeliveryStatus = 'pending' | 'sent' | 'failed';

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
  updatedAt: tz('updated_at').notNull().defaultNow(),
});
