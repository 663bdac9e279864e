/**
 * The API's types, inferred from the server's own zod schemas (type-only imports: nothing of the
 * server reaches the bundle). A change of a schema on the server is a type error here.
 */
import type {
  alertListSchema,
  alertSchema,
  mailboxListSchema,
  retryResponseSchema,
  webhookSecretSchema,
} from '@server/alerts/alerts.schemas';
import type {
  channelListSchema,
  channelTestResultSchema,
  channelViewSchema,
  createChannelSchema,
  notificationSettingsSchema,
  patchChannelSchema,
} from '@server/alerts/user-channels.schemas';
import type {
  createdTokenSchema,
  profileSchema,
  sessionResponseSchema,
  setupStatusSchema,
  signInBodySchema,
  signUpBodySchema,
  socialSignInBodySchema,
  socialSignInResponseSchema,
  tokenSchema,
} from '@server/auth/auth.schemas';
import type { problemSchema } from '@server/http/openapi';
import type { clientStatusListSchema } from '@server/market-data/client-status.schemas';
import type { AlertEvent } from '@server/notifications/evaluator';
import type {
  backtestResultSchema,
  backtestSchema,
  channelSchema,
  createdNotificationSchema,
  createNotificationSchema,
  notificationListSchema,
  patchNotificationSchema,
} from '@server/notifications/notifications.schemas';
import type {
  HistoryResponse,
  historyQuerySchema,
  PricePoint,
  SymbolSummary,
  symbolListSchema,
} from '@server/prices/prices.schemas';
import type { PricesEvent } from '@server/prices/prices.service';
import type { z } from 'zod';

export type { AlertView } from '@server/alerts/alerts.schemas';
export type { NotificationView } from '@server/notifications/notifications.schemas';
export type { HistoryResponse, PricePoint, SymbolSummary };

export type Problem = z.output<typeof problemSchema>;
export type SetupStatus = z.output<typeof setupStatusSchema>;
export type Session = z.output<typeof sessionResponseSchema>;
export type Profile = z.output<typeof profileSchema>;
export type SignUpBody = z.input<typeof signUpBodySchema>;
export type SignInBody = z.input<typeof signInBodySchema>;
export type SocialSignInBody = z.input<typeof socialSignInBodySchema>;
export type SocialSignInResponse = z.output<typeof socialSignInResponseSchema>;
export type ApiToken = z.output<typeof tokenSchema>;
export type CreatedApiToken = z.output<typeof createdTokenSchema>;

export type SymbolList = z.output<typeof symbolListSchema>;
/** The query of GET /stocks/{symbol}; max_points is coerced from the query string, so it is the output type. */
export type HistoryQuery = Partial<z.output<typeof historyQuerySchema>>;
export type ClientStatusList = z.output<typeof clientStatusListSchema>;

export type Channel = z.output<typeof channelSchema>;
export type NewNotification = z.input<typeof createNotificationSchema>;
export type NotificationPatch = z.input<typeof patchNotificationSchema>;
export type CreatedNotification = z.output<typeof createdNotificationSchema>;
export type NotificationList = z.output<typeof notificationListSchema>;
export type BacktestBody = z.input<typeof backtestSchema>;
export type BacktestResult = z.output<typeof backtestResultSchema>;

export type AlertList = z.output<typeof alertListSchema>;
export type Delivery = z.output<typeof alertSchema>['deliveries'][number];
export type RetryResponse = z.output<typeof retryResponseSchema>;
export type Mailbox = z.output<typeof mailboxListSchema>;
export type MailboxMessage = Mailbox['data'][number];
export type WebhookSecret = z.output<typeof webhookSecretSchema>;

/** `event: price` of GET /events. */
export type PriceEvent = PricesEvent;
/** `event: alert` of GET /events: the hub strips the owner's id before sending. */
export type AlertStreamEvent = Omit<AlertEvent, 'userId'>;

export type SavedChannel = z.output<typeof channelViewSchema>;
export type SavedChannelList = z.output<typeof channelListSchema>;
export type NewChannel = z.input<typeof createChannelSchema>;
export type ChannelPatch = z.input<typeof patchChannelSchema>;
export type ChannelTestResult = z.output<typeof channelTestResultSchema>;
export type NotificationSettings = z.output<typeof notificationSettingsSchema>;
