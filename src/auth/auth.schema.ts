import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The tables better-auth's Drizzle adapter reads and writes (`user`, `session`, `account`,
 * `verification`: their property names are the adapter's field names), and our own `api_tokens` and
 * `setup`. Ids are better-auth's random strings, hence `text`; other features reference `user.id`.
 */

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const user = pgTable('user', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
  emailVerified: boolean('email_verified').notNull().default(false),
  image: text('image'),
  /** 'admin' for the first account (see `setup`), 'user' for every other. */
  role: text('role').$type<'admin' | 'user'>().notNull().default('user'),
  createdAt: tz('created_at').notNull().defaultNow(),
  updatedAt: tz('updated_at')
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date()),
});

/** Server-side sessions: signing out deletes the row, so a copied cookie stops working at once. */
export const session = pgTable(
  'session',
  {
    id: text('id').primaryKey(),
    expiresAt: tz('expires_at').notNull(),
    token: text('token').notNull().unique(),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at')
      .notNull()
      .$onUpdate(() => new Date()),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    userId: text('user_id')
      .notNull()
      .references(() => user.id, { onDelete: 'cascade' }),
  },
  (t) => [index('session_user_id_idx').on(t.userId)],
);

/** How a user signs in: a password (provider 'credential') or an OpenID account such as Google's. */
export const account = pgTable(
  'account',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    providerId: text('provider_id').notNull(),
    userId: text('user_id')
      .notNull()
      .references(() => user.id, { onDelete: 'cascade' }),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: tz('access_token_expires_at'),
    refreshTokenExpiresAt: tz('refresh_token_expires_at'),
    scope: text('scope'),
    password: text('password'),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at')
      .notNull()
      .$onUpdate(() => new Date()),
  },
  (t) => [
    index('account_user_id_idx').on(t.userId),
    // Signing in with Google looks the account up by (provider, subject).
    uniqueIndex('account_provider_account_idx').on(t.providerId, t.accountId),
  ],
);

/** Short-lived values such as OAuth state. */
export const verification = pgTable(
  'verification',
  {
    id: text('id').primaryKey(),
    identifier: text('identifier').notNull(),
    value: text('value').notNull(),
    expiresAt: tz('expires_at').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdate(() => new Date()),
  },
  (t) => [index('verification_identifier_idx').on(t.identifier)],
);

/**
 * Personal API tokens. Only the SHA-256 of a token is kept: the token is long and random, so a fast
 * hash is enough (no brute force can walk 256 bits), and lookups stay one index probe.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => user.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** The first characters of the token, so its owner can tell tokens apart. */
    prefix: text('prefix').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    lastUsedAt: tz('last_used_at'),
  },
  (t) => [index('api_tokens_user_id_idx').on(t.userId, t.createdAt)],
);

/**
 * One row, claimed by the first account ever created: the primary key makes the claim atomic, so two
 * sign-ups racing on a fresh install cannot both become admin.
 */
export const setup = pgTable(
  'setup',
  {
    id: integer('id').primaryKey().default(1),
    adminUserId: text('admin_user_id').references(() => user.id, { onDelete: 'set null' }),
    completedAt: tz('completed_at').notNull().defaultNow(),
  },
  (t) => [check('setup_single_row', sql`${t.id} = 1`)],
);
