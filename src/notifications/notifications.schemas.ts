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
    // A channel saved with POST /channels (ntfy, Slack, Discord, Telegram, …): src/alerts/user-channels.*
    z.strictObject({
      type: z.literal('channel'),
      id: z.uuid({ message: 'must be the id of one of your channels' }),
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

// The indicator kinds' parameters. Which ones a kind requires (and refuses) is checked by the service,
// which names the field in its 422.
export const MAX_WINDOW_MINUTES = 1440;
export const MAX_PERIODS = 1000;
const period = (what: string, max = MAX_PERIODS) =>
  z.number().int().min(1).max(max).meta({ description: what });
const paramFields = {
  direction: z
    .enum(['up', 'down', 'either'])
    .optional()
    .meta({ description: 'change_pct_from_close, move_pct_within (up|down|either); sma_cross (up|down)' }),
  window_minutes: period('move_pct_within: the window, 1–1440 minutes', MAX_WINDOW_MINUTES).optional(),
  periods: period('volume_spike: the number of previous bars averaged, 1–1000').optional(),
  fast: period('sma_cross: bars of the fast moving average (fewer than slow)').optional(),
  slow: period('sma_cross: bars of the slow moving average, up to 1000').optional(),
};

export const createNotificationSchema = z
  .strictObject({
    symbol: symbolSchema,
    condition: conditionSchema,
    threshold: thresholdSchema.optional().meta({
      description:
        'required unless the condition text holds it; the percent for change_pct_from_close and move_pct_within, ' +
        'the multiple k for volume_spike; none for new_high_52w, new_low_52w and sma_cross',
    }),
    ...paramFields,
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
    ...paramFields,
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
    threshold: z
      .number()
      .meta({ description: '0 for kinds without one (new_high_52w, new_low_52w, sma_cross)' }),
    direction: paramFields.direction,
    window_minutes: paramFields.window_minutes,
    periods: paramFields.periods,
    fast: paramFields.fast,
    slow: paramFields.slow,
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

export const MAX_BACKTEST_DAYS = 366;
export const backtestSchema = z
  .strictObject({
    symbol: symbolSchema,
    condition: conditionSchema,
    threshold: thresholdSchema.optional(),
    ...paramFields,
    cooldown_minutes: cooldownSchema.optional(),
    trigger: triggerSchema.optional(),
    start_time: z.iso
      .datetime({ offset: true })
      .optional()
      .meta({ description: 'default: 30 days before end_time' }),
    end_time: z.iso.datetime({ offset: true }).optional().meta({ description: 'default: now (exclusive)' }),
  })
  .meta({ id: 'Backtest' });
export type BacktestInput = z.output<typeof backtestSchema>;

export const backtestResultSchema = z
  .object({
    symbol: z.string(),
    start_time: z.string(),
    end_time: z.string(),
    count: z.number().meta({ description: 'firings in the range, after cooldown and trigger' }),
    firings: z.array(
      z.object({
        timestamp: z.string(),
        price: z.number(),
        detail: z.string().meta({ example: '+3.12% from the previous close 101.5' }),
      }),
    ),
    truncated: z.boolean().meta({ description: 'firings holds only the first 5,000' }),
    evaluated_points: z.number().meta({ description: 'stored prices in the range that were judged' }),
    took_ms: z.number(),
  })
  .meta({ id: 'BacktestResult' });
export type BacktestResult = z.output<typeof backtestResultSchema>;
