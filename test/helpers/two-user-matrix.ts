import type { FastifyInstance } from 'fastify';
import type { Caller } from './users.ts';

/**
 * The table of every user-owned resource the API exposes. test/two-user-matrix.test.ts runs, for each
 * entry, on both databases and with both kinds of caller (session cookie, API token):
 * - every by-id request of user B on user A's id answers exactly as for an id that does not exist
 *   (same status, same body once the id itself is blanked out): 404, never 403;
 * - A's resource is unchanged afterwards (read back by A);
 * - every list of B leaves A's resource out, and A's own list has it.
 *
 * A feature that adds a user endpoint adds an entry here; nothing else is needed.
 */
export interface OwnedResource {
  name: string;
  /** Creates one resource owned by `owner` through the API and returns its id. */
  create(app: FastifyInstance, owner: Caller, context: { ingestToken: string }): Promise<string>;
  /** Every request that addresses one resource by id. */
  byId: Array<{
    method: 'GET' | 'PATCH' | 'DELETE' | 'POST';
    url: (id: string) => string;
    payload?: unknown;
  }>;
  /** How its owner reads it back, to prove that nothing changed: the JSON compared before and after. */
  readBack(app: FastifyInstance, owner: Caller, id: string): Promise<unknown>;
  /** Lists whose items carry an `id`: `items` picks them out of the response body. */
  lists: Array<{ url: string; items: (body: unknown) => Array<{ id: string }> }>;
  /** An id of the right shape that no resource has. */
  missingId: string;
}

const dataOf = (body: unknown) => (body as { data: Array<{ id: string }> }).data;

export const apiTokensResource: OwnedResource = {
  name: 'API token',
  async create(app, owner) {
    const res = await app.inject({
      method: 'POST',
      url: '/tokens',
      headers: owner.headers,
      payload: { name: 'm' },
    });
    if (res.statusCode !== 201) throw new Error(`POST /tokens: ${res.statusCode} ${res.body}`);
    return res.json().id;
  },
  byId: [
    { method: 'GET', url: (id) => `/tokens/${id}` },
    { method: 'DELETE', url: (id) => `/tokens/${id}` },
  ],
  async readBack(app, owner, id) {
    const res = await app.inject({ method: 'GET', url: `/tokens/${id}`, headers: owner.headers });
    // last_used_at moves whenever the owner's own token is used; it is not "a change by B".
    const { last_used_at: _ignored, ...rest } = res.json();
    return { status: res.statusCode, ...rest };
  },
  lists: [{ url: '/tokens', items: dataOf }],
  missingId: '00000000-0000-4000-8000-000000000000',
};

let symbolCounter = 0;
async function createNotification(app: FastifyInstance, owner: Caller, symbol: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/notifications',
    headers: owner.headers,
    payload: { symbol, condition: 'price > 1', threshold: 1 },
  });
  if (res.statusCode !== 201) throw new Error(`POST /notifications: ${res.statusCode} ${res.body}`);
  return res.json().id as string;
}

export const notificationsResource: OwnedResource = {
  name: 'notification',
  create: (app, owner) => createNotification(app, owner, `MX${++symbolCounter}`),
  byId: [
    { method: 'GET', url: (id) => `/notifications/${id}` },
    { method: 'PATCH', url: (id) => `/notifications/${id}`, payload: { paused: true, threshold: 99 } },
    { method: 'DELETE', url: (id) => `/notifications/${id}` },
  ],
  async readBack(app, owner, id) {
    const res = await app.inject({ method: 'GET', url: `/notifications/${id}`, headers: owner.headers });
    return { status: res.statusCode, body: res.json() };
  },
  lists: [
    { url: '/notifications', items: dataOf },
    { url: '/notifications?limit=200', items: dataOf },
  ],
  missingId: '00000000-0000-4000-8000-000000000000',
};

/** An alert exists once a notification fired: the owner's rule, then a price through the ingest token. */
export const alertsResource: OwnedResource = {
  name: 'alert',
  async create(app, owner, { ingestToken }) {
    const symbol = `MA${++symbolCounter}`;
    const notificationId = await createNotification(app, owner, symbol);
    const res = await app.inject({
      method: 'POST',
      url: '/stocks',
      headers: { authorization: `Bearer ${ingestToken}` },
      payload: { symbol, timestamp: new Date().toISOString(), price: 2, volume: 1 },
    });
    if (res.statusCode !== 201) throw new Error(`POST /stocks: ${res.statusCode} ${res.body}`);
    const alerts = await app.inject({
      method: 'GET',
      url: `/alerts?notification_id=${notificationId}`,
      headers: owner.headers,
    });
    const [alert] = alerts.json().data;
    if (!alert) throw new Error('the notification did not fire');
    return alert.id as string;
  },
  byId: [
    { method: 'GET', url: (id) => `/alerts/${id}` },
    { method: 'POST', url: (id) => `/alerts/${id}/retry` },
  ],
  async readBack(app, owner, id) {
    const res = await app.inject({ method: 'GET', url: `/alerts/${id}`, headers: owner.headers });
    return { status: res.statusCode, body: res.json() };
  },
  lists: [{ url: '/alerts', items: dataOf }],
  missingId: '00000000-0000-4000-8000-000000000000',
};

/** A saved channel (issue 7): an ntfy topic on a public server, so nothing here ever sends. */
export const channelsResource: OwnedResource = {
  name: 'saved channel',
  async create(app, owner) {
    const res = await app.inject({
      method: 'POST',
      url: '/channels',
      headers: owner.headers,
      payload: {
        type: 'ntfy',
        name: 'phone',
        config: { server_url: 'https://ntfy.example.com', topic: 'mx' },
      },
    });
    if (res.statusCode !== 201) throw new Error(`POST /channels: ${res.statusCode} ${res.body}`);
    return res.json().id;
  },
  byId: [
    { method: 'GET', url: (id) => `/channels/${id}` },
    {
      method: 'PATCH',
      url: (id) => `/channels/${id}`,
      payload: { name: 'taken over', config: { topic: 'b' } },
    },
    { method: 'POST', url: (id) => `/channels/${id}/test` },
    { method: 'DELETE', url: (id) => `/channels/${id}` },
  ],
  async readBack(app, owner, id) {
    const res = await app.inject({ method: 'GET', url: `/channels/${id}`, headers: owner.headers });
    return { status: res.statusCode, body: res.json() };
  },
  lists: [{ url: '/channels', items: dataOf }],
  missingId: '00000000-0000-4000-8000-000000000000',
};

/** Every user endpoint that exists: add yours here. */
export const OWNED_RESOURCES: OwnedResource[] = [
  apiTokensResource,
  notificationsResource,
  alertsResource,
  channelsResource,
];
