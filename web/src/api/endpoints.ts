import { api } from './client';
import type {
  AlertList,
  ApiToken,
  BacktestBody,
  BacktestResult,
  ChannelPatch,
  ChannelTestResult,
  ClientStatusList,
  CreatedApiToken,
  CreatedNotification,
  HistoryQuery,
  HistoryResponse,
  Mailbox,
  NewChannel,
  NewNotification,
  NotificationList,
  NotificationPatch,
  NotificationSettings,
  NotificationView,
  Profile,
  RetryResponse,
  SavedChannel,
  SavedChannelList,
  Session,
  SetupStatus,
  SignInBody,
  SignUpBody,
  SocialSignInBody,
  SocialSignInResponse,
  SymbolList,
  WebhookSecret,
} from './types';

/** Every API call the dashboard makes; paths as in /openapi.json, types from the server's schemas. */
export const endpoints = {
  setup: () => api<SetupStatus>('GET', '/auth/setup'),
  session: () => api<Session>('GET', '/auth/get-session'),
  signUp: (body: SignUpBody) => api<unknown>('POST', '/auth/sign-up/email', { body }),
  signIn: (body: SignInBody) => api<unknown>('POST', '/auth/sign-in/email', { body }),
  signInSocial: (body: SocialSignInBody) =>
    api<SocialSignInResponse>('POST', '/auth/sign-in/social', { body }),
  signOut: () => api<unknown>('POST', '/auth/sign-out', { body: {} }),
  me: () => api<Profile>('GET', '/me'),

  symbols: () => api<SymbolList>('GET', '/stocks'),
  history: (symbol: string, query: HistoryQuery, signal?: AbortSignal) =>
    api<HistoryResponse>('GET', `/stocks/${encodeURIComponent(symbol)}`, {
      query,
      ...(signal && { signal }),
    }),
  clientStatus: () => api<ClientStatusList>('GET', '/client-status'),

  notifications: (query: { cursor?: string; symbol?: string; limit?: number } = {}) =>
    api<NotificationList>('GET', '/notifications', { query }),
  notification: (id: string) => api<NotificationView>('GET', `/notifications/${encodeURIComponent(id)}`),
  createNotification: (body: NewNotification) => api<CreatedNotification>('POST', '/notifications', { body }),
  updateNotification: (id: string, body: NotificationPatch) =>
    api<NotificationView>('PATCH', `/notifications/${encodeURIComponent(id)}`, { body }),
  deleteNotification: (id: string) => api<void>('DELETE', `/notifications/${encodeURIComponent(id)}`),
  backtest: (body: BacktestBody, signal?: AbortSignal) =>
    api<BacktestResult>('POST', '/notifications/backtest', { body, ...(signal && { signal }) }),

  alerts: (query: { cursor?: string; limit?: number } = {}) => api<AlertList>('GET', '/alerts', { query }),
  retryAlert: (id: string) =>
    api<RetryResponse>('POST', `/alerts/${encodeURIComponent(id)}/retry`, { body: {} }),
  mailbox: () => api<Mailbox>('GET', '/mailbox'),
  webhookSecret: () => api<WebhookSecret>('GET', '/settings/webhook-secret'),
  rotateWebhookSecret: () => api<WebhookSecret>('POST', '/settings/webhook-secret/rotate', { body: {} }),

  channels: () => api<SavedChannelList>('GET', '/channels'),
  createChannel: (body: NewChannel) => api<SavedChannel>('POST', '/channels', { body }),
  updateChannel: (id: string, body: ChannelPatch) =>
    api<SavedChannel>('PATCH', `/channels/${encodeURIComponent(id)}`, { body }),
  deleteChannel: (id: string) => api<void>('DELETE', `/channels/${encodeURIComponent(id)}`),
  testChannel: (id: string) =>
    api<ChannelTestResult>('POST', `/channels/${encodeURIComponent(id)}/test`, { body: {} }),
  notificationSettings: () => api<NotificationSettings>('GET', '/settings/notifications'),
  saveNotificationSettings: (body: NotificationSettings) =>
    api<NotificationSettings>('PUT', '/settings/notifications', { body }),

  tokens: () => api<{ data: ApiToken[] }>('GET', '/tokens'),
  createToken: (name: string) => api<CreatedApiToken>('POST', '/tokens', { body: { name } }),
  revokeToken: (id: string) => api<void>('DELETE', `/tokens/${encodeURIComponent(id)}`),
};

/** TanStack Query keys, one place so that invalidations match the queries they mean. */
export const keys = {
  setup: ['setup'] as const,
  session: ['session'] as const,
  me: ['me'] as const,
  symbols: ['symbols'] as const,
  sparkline: (symbol: string) => ['sparkline', symbol] as const,
  history: (symbol: string, range: string) => ['history', symbol, range] as const,
  clientStatus: ['client-status'] as const,
  notifications: ['notifications'] as const,
  notificationsOf: (symbol: string) => ['notifications', 'symbol', symbol] as const,
  notification: (id: string) => ['notifications', 'one', id] as const,
  alerts: ['alerts'] as const,
  mailbox: ['mailbox'] as const,
  tokens: ['tokens'] as const,
  channels: ['channels'] as const,
  notificationSettings: ['settings', 'notifications'] as const,
  webhookSecret: ['webhook-secret'] as const,
};
