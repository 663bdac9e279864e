import { z } from 'zod';
import { symbolSchema } from '../prices/prices.schemas.ts';
import { CONDITION_KINDS } from './conditions.ts';

export const MAX_COOLDOWN_MINUTES = 10_080;

export const channelSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('email') }),
    z.strictObject({
      type: z.literal('webhook'),
      url: z
        .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
        .max(2000)
        .meta({ example: 'https://hooks.example.com/stockwatch' }),
    }),
  ])
  .meta({ id: 'Channel' });

const channelsSchema = z
  .array(channelSchema)
  .min(1, 'at least one channel')
  .max(5)
  .meta({ description: 'Where alerts go; default: email to the account address' });

const thresholdSchema = z.number().positive().meta({ example: 150 });
const cooldownSchema = z
  .number()
  .int()
  .min(0)
  .max(MAX_COOLDOWN_MINUTES)
  .meta({ description: '0 = every qualifying price; default 60 (seed)' });
const triggerSchema = z.enum(['recurring', 'once']);
const expiresSchema = z.iso.datetime({ offset: true }).nullable();
const conditionSchema = z
  .string()
  .min(1)
  .max(100)
  .meta({
    description: `"price > 150" (also >=, <, <=, "price crosses above 150") or one of ${CONDITION_KINDS.join(', ')}`,
    example: 'price > 150',
  });

export const createNotificationSchema = z
  .strictObject({
    symbol: symbolSchema,
    condition: conditionSchema,
    threshold: thresholdSchema
      .optional()
      .meta({ description: 'required unless the condition text holds it' }),
    user_id: z.string().optional().meta({ description: "optional; when given it must be the caller's id" }),
    cooldown_minutes: cooldownSchema.optional(),
    trigger: triggerSchema.optional(),
    expires_at: expiresSchema.optional(),
    channels: channelsSchema.optional(),
  })
  .meta({ id: 'NewNotification' });
export type CreateNotificationInput = z.output<typeof createNotificationSchema>;

export const patchNotificationSchema = z
  .strictObject({
    paused: z.boolean().optional(),
    condition: conditionSchema.optional(),
    threshold: thresholdSchema.optional(),
    cooldown_minutes: cooldownSchema.optional(),
    trigger: triggerSchema.optional(),
    expires_at: expiresSchema.optional(),
    channels: channelsSchema.optional(),
  })
  .meta({ id: 'NotificationPatch' });
export type PatchNotificationInput = z.output<typeof patchNotificationSchema>;

export const notificationSchema = z
  .object({
    id: z.string(),
    symbol: z.string(),
    condition: z.enum(CONDITION_KINDS),
    condition_text: z.string(),
    threshold: z.number(),
    cooldown_minutes: z.number(),
    trigger: triggerSchema,
    expires_at: z.string().nullable(),
    channels: z.array(channelSchema),
    status: z.enum(['active', 'paused', 'expired', 'done']),
    last_fired_at: z.string().nullable(),
    fire_count: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Notification' });
export type NotificationView = z.output<typeof notificationSchema>;

export const createdNotificationSchema = z.object({
  id: z.string(),
  status: z.literal('created'),
  notification: notificationSchema,
});

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'next_cursor of the previous page' }),
  symbol: symbolSchema.optional(),
});
export type ListQuery = z.output<typeof listQuerySchema>;

export const notificationListSchema = z.object({
  data: z.array(notificationSchema),
  next_cursor: z.string().nullable(),
});

export const idParamsSchema = z.strictObject({ id: z.string().max(100) });
