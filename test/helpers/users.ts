import type { FastifyInstance } from 'fastify';

/** Someone calling the API: the headers that authenticate them, by session cookie or API token. */
export interface Caller {
  id: string;
  email: string;
  /** Sent with every request of this caller. */
  headers: Record<string, string>;
  via: 'session' | 'token';
}

/** The Origin of a dashboard page served by the app under `inject` (whose Host is localhost:80). */
export const SAME_ORIGIN = 'http://localhost';

let counter = 0;
export const uniqueEmail = (label = 'user') =>
  `${label}-${process.pid}-${Date.now().toString(36)}-${counter++}@example.com`;

/** The `name=value` pairs of a response's Set-Cookie headers, ready for a Cookie header. */
export function cookiesOf(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  return all.map((c) => c.split(';')[0]).join('; ');
}

/** Signs up through the API and returns a caller that uses the session cookie. */
export async function signUp(
  app: FastifyInstance,
  options: { email?: string; password?: string; name?: string } = {},
): Promise<Caller & { password: string }> {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}-long`;
  const res = await app.inject({
    method: 'POST',
    url: '/auth/sign-up/email',
    payload: { email, password, ...(options.name && { name: options.name }) },
  });
  if (res.statusCode !== 200) throw new Error(`sign-up failed: ${res.statusCode} ${res.body}`);
  return {
    id: res.json().user.id,
    email,
    password,
    via: 'session',
    headers: { cookie: cookiesOf(res.headers['set-cookie']), origin: SAME_ORIGIN },
  };
}

/** A caller for the same user that authenticates with a fresh personal API token instead. */
export async function withToken(app: FastifyInstance, caller: Caller, name = 'test'): Promise<Caller> {
  const res = await app.inject({
    method: 'POST',
    url: '/tokens',
    headers: caller.headers,
    payload: { name },
  });
  if (res.statusCode !== 201) throw new Error(`token creation failed: ${res.statusCode} ${res.body}`);
  return { ...caller, via: 'token', headers: { authorization: `Bearer ${res.json().token}` } };
}
