import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
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
  await app.register(helmet, {
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
