import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { genericOAuth } from 'better-auth/plugins/generic-oauth';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/connect.ts';
import { account, session, user, verification } from './auth.schema.ts';

/** Where better-auth's routes live; every path under it is declared in auth.routes.ts. */
export const AUTH_BASE_PATH = '/auth';
export const GOOGLE_PROVIDER_ID = 'google';

export interface SessionUser {
  id: string;
  email: string;
  name: string;
}

/**
 * The part of better-auth the rest of the code uses, so that its large generic types stay here.
 * `handle` serves its HTTP endpoints; the others are server-side calls.
 */
export interface AuthEngine {
  handle(request: Request): Promise<Response>;
  /** The session behind the cookies in `headers`, with any refreshed cookie to pass on, or null. */
  getSession(headers: Headers): Promise<{ user: SessionUser; setCookie: string[] } | null>;
  signUpEmail(input: { email: string; password: string; name: string }): Promise<SessionUser>;
  /** Name of the session cookie (with `__Secure-` when cookies are secure). */
  readonly sessionCookieName: string;
  readonly baseURL: string;
}

export interface BetterAuthDeps {
  db: Database;
  config: Pick<Config, 'publicUrl' | 'port' | 'google'>;
  secret: string;
  logger: Logger;
  /** Runs after a user row is inserted, whichever way it was created. */
  onUserCreated(userId: string): Promise<void>;
}

export function createAuthEngine(deps: BetterAuthDeps): AuthEngine {
  const { config, logger } = deps;
  // Without PUBLIC_URL the server is reached on localhost; OAuth redirects need one fixed origin.
  const baseURL = config.publicUrl ?? `http://localhost:${config.port}`;
  const secure = new URL(baseURL).protocol === 'https:';
  const google = config.google;

  const auth = betterAuth({
    appName: 'Stockwatch',
    baseURL,
    basePath: AUTH_BASE_PATH,
    secret: deps.secret,
    database: drizzleAdapter(deps.db, { provider: 'pg', schema: { user, session, account, verification } }),
    emailAndPassword: { enabled: true, minPasswordLength: 8, maxPasswordLength: 128, autoSignIn: true },
    user: {
      additionalFields: {
        // Never settable by a client (input: false); the first account becomes admin via `setup`.
        role: { type: 'string', required: false, defaultValue: 'user', input: false },
      },
    },
    session: { expiresIn: 7 * 24 * 3600, updateAge: 24 * 3600 },
    databaseHooks: {
      user: { create: { after: async (created) => deps.onUserCreated(created.id) } },
    },
    // better-auth decides these from NODE_ENV when left unset; here they depend on configuration only.
    rateLimit: {
      // Limits are enforced in front of every route by @fastify/rate-limit, shared through Redis.
      enabled: false,
    },
    advanced: {
      useSecureCookies: secure,
      cookiePrefix: 'stockwatch',
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure, path: '/' },
      disableCSRFCheck: false,
      disableOriginCheck: false,
      // The Fastify request already resolved the client address (TRUST_PROXY); it arrives in this header.
      ipAddress: { ipAddressHeaders: ['x-stockwatch-client-ip'] },
    },
    trustedOrigins: (request) => trustedOrigins(config.publicUrl, request),
    telemetry: { enabled: false },
    logger: {
      level: 'warn',
      log: (level, message) => logger[level]({ component: 'auth' }, message),
    },
    plugins: google
      ? [
          // Google is plain OpenID Connect: discovery at GOOGLE_ISSUER_URL, so any OpenID provider can
          // stand in for it (a local one in tests, or a Google-compatible provider of your own).
          genericOAuth({
            config: [
              {
                providerId: GOOGLE_PROVIDER_ID,
                name: 'Google',
                clientId: google.clientId,
                clientSecret: google.clientSecret,
                discoveryUrl: `${google.issuerUrl}/.well-known/openid-configuration`,
                scopes: ['openid', 'email', 'profile'],
                pkce: true,
                requireIdTokenVerification: true,
              },
            ],
          }),
        ]
      : [],
  });

  const sessionCookieName = `${secure ? '__Secure-' : ''}stockwatch.session_token`;

  return {
    handle: (request) => auth.handler(request),
    sessionCookieName,
    baseURL,
    async getSession(headers) {
      const result = await auth.api.getSession({ headers, returnHeaders: true });
      if (!result.response) return null;
      const u = result.response.user;
      return {
        user: { id: u.id, email: u.email, name: u.name },
        setCookie: result.headers.getSetCookie(),
      };
    },
    async signUpEmail(input) {
      const result = await auth.api.signUpEmail({ body: input });
      return { id: result.user.id, email: result.user.email, name: result.user.name };
    },
  };
}

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The origins whose requests count as our own. With PUBLIC_URL that origin alone; without it the
 * server is on localhost, and localhost, 127.0.0.1 and [::1] on the port the caller reached are the
 * same server (DESIGN). `host` is the Host header: the browser sets it, so a page elsewhere cannot.
 */
export function sameOrigins(publicUrl: string | undefined, host: string | undefined): string[] {
  if (publicUrl) return [new URL(publicUrl).origin];
  if (!host || !URL.canParse(`http://${host}`)) return [];
  const url = new URL(`http://${host}`);
  if (!LOOPBACK_HOSTS.includes(url.hostname)) return [];
  const port = url.port ? `:${url.port}` : '';
  return LOOPBACK_HOSTS.map((name) => `http://${name}${port}`);
}

// The forwarded request's URL carries the Host the caller reached (see toWebRequest).
function trustedOrigins(publicUrl: string | undefined, request?: Request): string[] {
  return sameOrigins(publicUrl, request ? new URL(request.url).host : undefined);
}
