import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../config.ts';

/**
 * Security headers and CORS. The CSP fits the dashboard, a Vite build served from this origin with no
 * inline scripts: scripts, fetches and the live event stream all come from 'self'. Inline styles stay
 * allowed because charting and component libraries set style attributes.
 */
export async function registerSecurityHeaders(
  app: FastifyInstance,
  config: Pick<Config, 'publicUrl' | 'corsOrigins' | 'google'>,
) {
  const https = config.publicUrl?.startsWith('https://') ?? false;
  const headers = helmetHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        // A form may lead to Google's sign-in page; nothing else leaves the site.
        formAction: ["'self'", ...(config.google ? [new URL(config.google.issuerUrl).origin] : [])],
        frameAncestors: ["'none'"],
        // Only behind HTTPS: on plain-HTTP localhost it would break every request the page makes.
        ...(https && { upgradeInsecureRequests: [] }),
      },
    },
    // HSTS only means something over HTTPS; Caddy sets it too, this covers other proxies.
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // OAuth redirects carry the full URL nowhere else.
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  });
  // The same headers on every response, set in one call: @fastify/helmet rebuilt them (options
  // parsed, CSP string joined) on every request, a measurable share of the CPU of a price ingest.
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });

  // Closed unless configured. Cross-origin callers authenticate with API tokens, never cookies.
  if (config.corsOrigins.length > 0)
    await app.register(cors, {
      origin: [...config.corsOrigins],
      credentials: false,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type'],
      exposedHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
      maxAge: 600,
    });
}

/**
 * The headers helmet sets for these options. They depend on nothing in the request (no CSP nonces),
 * so they are computed once by running helmet's middleware against a recording response.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure;
  return headers;
}
