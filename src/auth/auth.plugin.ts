import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../shared/errors.ts';
import type { AuthService } from './auth.service.ts';
import { AUTH_BASE_PATH, sameOrigins } from './better-auth.ts';
import { bearerToken } from './ingest-token.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthPluginDeps {
  auth: AuthService;
  isIngest: (request: FastifyRequest) => boolean;
  publicUrl: string | undefined;
  sessionCookieName: string;
}

/**
 * Resolves `request.user` once per request: from `Authorization: Bearer <API token>`, else from the
 * session cookie. A bearer token that is not valid is a 401 on any route, rather than a silent
 * anonymous request. Runs in preParsing, after the rate limit (onRequest) and before any body is read.
 */
export function registerAuthPlugin(app: FastifyInstance, deps: AuthPluginDeps) {
  app.decorateRequest('user', null);
  app.decorateRequest('authMethod', null);

  app.addHook('preParsing', async (request, reply, payload) => {
    await identify(request, reply, deps);
    return payload;
  });
}

async function identify(request: FastifyRequest, reply: FastifyReply, deps: AuthPluginDeps) {
  const token = bearerToken(request.headers.authorization);
  if (token !== undefined) {
    // Bearer requests carry no ambient credential, so they need no CSRF check.
    if (deps.isIngest(request)) {
      request.authMethod = 'ingest';
      return;
    }
    const user = await deps.auth.authenticateToken(token);
    if (!user) throw new UnauthorizedError('Invalid or revoked API token');
    request.user = user;
    request.authMethod = 'token';
    return;
  }

  const cookies = request.headers.cookie;
  const unsafe = !SAFE_METHODS.has(request.method);
  // Checked before the session lookup: a forged request costs no database work.
  if (unsafe && (cookies || request.url.startsWith(`${AUTH_BASE_PATH}/`)))
    assertSameOrigin(request, deps.publicUrl, Boolean(cookies));
  if (!cookies?.includes(`${deps.sessionCookieName}=`)) return;

  const session = await deps.auth.resolveSession(toHeaders(request));
  if (!session) return;
  request.user = session.user;
  request.authMethod = 'session';
  // A session past its update age was extended; the browser needs the refreshed cookie.
  if (session.setCookie.length > 0) void reply.header('set-cookie', session.setCookie);
}

/**
 * CSRF protection for cookie-authenticated writes (and for sign-in/sign-up, against login CSRF):
 * browsers send Origin on every cross-origin or non-GET request, and Sec-Fetch-Site where they can.
 * A write with cookies but neither header is not from a browser page of ours either: refused.
 */
function assertSameOrigin(request: FastifyRequest, publicUrl: string | undefined, hasCookies: boolean) {
  const origin = request.headers.origin;
  const site = request.headers['sec-fetch-site'];
  if (origin !== undefined && origin !== 'null') {
    const normalized = URL.canParse(origin) ? new URL(origin).origin : origin;
    if (sameOrigins(publicUrl, request.headers.host).includes(normalized)) return;
    throw new ForbiddenError(`Cross-origin request refused: Origin '${origin}' is not this server's origin`);
  }
  if (site !== undefined) {
    if (site === 'same-origin') return;
    throw new ForbiddenError(`Cross-site request refused (Sec-Fetch-Site: ${site})`);
  }
  if (hasCookies)
    throw new ForbiddenError(
      'A cookie-authenticated write needs an Origin header from this site; API clients send Authorization: Bearer <API token>',
    );
}

export function toHeaders(request: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}
