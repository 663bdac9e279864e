import { z } from 'zod';
import { CONDITION_KINDS } from '../notifications/conditions.ts';
import { channelSchema } from '../notifications/notifications.schemas.ts';
import { symbolSchema } from '../prices/prices.schemas.ts';

export const deliverySchema = z
  .object({
    id: z.string(),
    channel: channelSchema,
    status: z
      .enum(['pending', 'sent', 'failed', 'dropped'])
      .meta({ description: 'dropped: not sent on purpose (quiet hours with mode drop); last_error says so' }),
    attempts: z.number(),
    last_error: z.string().nullable(),
    last_attempt_at: z.string().nullable(),
    sent_at: z.string().nullable(),
    next_attempt_at: z.string().nullable().meta({ description: 'when a pending delivery is tried next' }),
    channel_name: z
      .string()
      .nullable()
      .meta({ description: 'the name of the saved channel it goes through; null for inline channels' }),
  })
  .meta({ id: 'Delivery' });

export const alertSchema = z
  .object({
    id: z.string(),
    notification_id: z.string().nullable().meta({ description: 'null once the notification was deleted' }),
    symbol: z.string(),
    condition: z.enum(CONDITION_KINDS),
    condition_text: z.string(),
    threshold: z.number(),
    price: z.number(),
    price_at: z.string(),
    fired_at: z.string(),
    deliveries: z.array(deliverySchema),
  })
  .meta({ id: 'Alert' });
export type AlertView = z.output<typeof alertSchema>;

export const alertListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  notification_id: z.string().max(100).optional(),
  symbol: symbolSchema.optional(),
});
export type AlertListQuery = z.output<typeof alertListQuerySchema>;

export const alertListSchema = z.object({ data: z.array(alertSchema), next_cursor: z.string().nullable() });

export const retryResponseSchema = z.object({ id: z.string(), requeued: z.number().int() });

export const mailboxMessageSchema = z
  .object({
    id: z.string(),
    message_id: z.string(),
    to: z.string(),
    subject: z.string(),
    text: z.string(),
    html: z.string(),
    created_at: z.string(),
  })
  .meta({ id: 'MailboxMessage' });

export const mailboxListSchema = z.object({
  enabled: z
    .boolean()
    .meta({ description: 'true when email goes to this built-in mailbox (no SMTP or SES set)' }),
  data: z.array(mailboxMessageSchema),
});

export const webhookSecretSchema = z.object({
  secret: z.string().meta({ description: 'HMAC-SHA256 key of the X-Stockwatch-Signature header' }),
});
