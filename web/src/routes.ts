/**
 * The dashboard's pages. Some share their path with an API route (`/notifications` is both the page and
 * the JSON list): the server answers browser navigations with the page and fetches with JSON. The email
 * of an alert links to `/symbols/<symbol>` and `/notifications/<id>`. Keep PAGE_PATHS in step with
 * src/http/web.ts.
 */
export const PAGE_PATHS = [
  /^\/$/,
  /^\/symbols\/[^/]+$/,
  /^\/notifications(\/[^/]+)?$/,
  /^\/(alerts|mailbox|settings)$/,
];

export const paths = {
  watchlist: '/',
  symbol: (symbol: string) => `/symbols/${encodeURIComponent(symbol)}`,
  notifications: '/notifications',
  notification: (id: string) => `/notifications/${encodeURIComponent(id)}`,
  alerts: '/alerts',
  mailbox: '/mailbox',
  settings: '/settings',
} as const;
