import { z } from 'zod';
import { HH_MM, isTimeZone } from './quiet-hours.ts';

const httpUrl = (example: string) =>
  z
    .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
    .max(2000)
    .meta({ example });

/** Each type's settings. Fields named in SECRET_FIELDS are write-only: answers mask them. */
export const channelConfigSchemas = {
  ntfy: z.strictObject({
    server_url: httpUrl('https://ntfy.sh').default('https://ntfy.sh'),
    topic: z
      .string()
      .regex(/^[-_A-Za-z0-9]{1,64}$/, 'letters, digits, - and _, at most 64')
      .meta({ example: 'stockwatch-7f3a' }),
    token: z.string().min(1).max(200).optional().meta({ description: 'access token of a protected topic' }),
    priority: z
      .number()
      .int()
      .min(1)
      .max(5)
      .optional()
      .meta({ description: '1 (min) to 5 (max); default 4' }),
  }),
  slack: z.strictObject({
    webhook_url: httpUrl('https://hooks.slack.com/services/T000/B000/XXXX'),
  }),
  discord: z.strictObject({
    webhook_url: httpUrl('https://discord.com/api/webhooks/123/abc'),
  }),
  telegram: z.strictObject({
    bot_token: z
      .string()
      .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'a bot token from @BotFather, like 123456:ABC-DEF…')
      .max(200),
    chat_id: z
      .union([
        z.string().regex(/^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,})$/, 'a numeric chat id or @channel'),
        z.int(),
      ])
      .transform(String)
      .meta({ example: '-1001234567890' }),
  }),
  webhook: z.strictObject({
    url: httpUrl('https://hooks.example.com/stockwatch'),
  }),
  email: z.strictObject({}).meta({ description: "to the account's address" }),
} as const;

export type SavedType = keyof typeof channelConfigSchemas;
export const SAVED_TYPES = Object.keys(channelConfigSchemas) as SavedType[];

export const SECRET_FIELDS: Record<SavedType, string[]> = {
  ntfy: ['token'],
  slack: ['webhook_url'],
  discord: ['webhook_url'],
  telegram: ['bot_token'],
  webhook: ['url'],
  email: [],
};

/** Fields holding a URL the notifier calls: checked against the private-address rule. */
export const URL_FIELDS: Record<SavedType, string[]> = {
  ntfy: ['server_url'],
  slack: ['webhook_url'],
  discord: ['webhook_url'],
  telegram: [],
  webhook: ['url'],
  email: [],
};

const nameSchema = z.string().trim().min(1).max(100).meta({ example: 'My phone' });

const entry = <T extends SavedType>(type: T) =>
  z.strictObject({ type: z.literal(type), name: nameSchema, config: channelConfigSchemas[type] });

export const createChannelSchema = z
  .discriminatedUnion('type', [
    entry('ntfy'),
    entry('slack'),
    entry('discord'),
    entry('telegram'),
    entry('webhook'),
    entry('email'),
  ])
  .meta({ id: 'NewChannel' });
export type CreateChannelInput = z.output<typeof createChannelSchema>;

export const patchChannelSchema = z
  .strictObject({
    name: nameSchema.optional(),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'fields to change; secrets left out keep their value' }),
  })
  .meta({ id: 'ChannelPatch' });
export type PatchChannelInput = z.output<typeof patchChannelSchema>;

export const channelViewSchema = z
  .object({
    id: z.string(),
    type: z.enum(SAVED_TYPES as [SavedType, ...SavedType[]]),
    name: z.string(),
    config: z.record(z.string(), z.unknown()).meta({
      description: 'the settings, secrets masked (bot tokens, webhook URLs are write-only)',
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'SavedChannel' });
export type ChannelView = z.output<typeof channelViewSchema>;

export const channelListSchema = z.object({ data: z.array(channelViewSchema) });

export const channelTestResultSchema = z.object({
  ok: z.literal(true),
  detail: z.string(),
});

export const notificationSettingsSchema = z
  .strictObject({
    group_window_seconds: z.number().int().min(0).max(3600).meta({
      description: 'alerts to one channel within this many seconds of a message go out as one; 0: off',
    }),
    quiet_hours: z
      .strictObject({
        start: z.string().regex(HH_MM, 'HH:MM, 00:00 to 23:59').meta({ example: '22:00' }),
        end: z.string().regex(HH_MM, 'HH:MM, 00:00 to 23:59').meta({ example: '07:00' }),
        time_zone: z
          .string()
          .max(64)
          .refine(isTimeZone, 'an IANA time zone such as Europe/Berlin')
          .meta({ example: 'Europe/Berlin' }),
        mode: z
          .enum(['hold', 'drop'])
          .meta({ description: 'hold: delivered when quiet hours end (grouped); drop: not delivered' }),
      })
      .refine((q) => q.start !== q.end, { message: 'start and end must differ', path: ['end'] })
      .nullable(),
  })
  .meta({ id: 'NotificationSettings' });
export type NotificationSettings = z.output<typeof notificationSettingsSchema>;
