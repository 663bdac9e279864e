import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { alertsRoutes } from '../alerts/alerts.routes.ts';
import { userChannelsRoutes } from '../alerts/user-channels.routes.ts';
import { priceReadAccess, registerAuth } from '../auth/index.ts';
import { eventsRoutes } from '../events/events.routes.ts';
import { clientStatusRoutes } from '../market-data/client-status.routes.ts';
import { metricsRoutes } from '../metrics/metrics.routes.ts';
import { notificationsRoutes } from '../notifications/notifications.routes.ts';
import { pricesRoutes } from '../prices/prices.routes.ts';
import type { Runtime } from '../runtime.ts';
import { registerErrorHandling } from './errors.ts';
import { healthRoutes } from './health.routes.ts';
import { registerOpenApi } from './openapi.ts';
import { registerRateLimit } from './rate-limit.ts';
import { registerSecurityHeaders } from './security.ts';
import { zodValidatorCompiler } from './validation.ts';
import { registerWeb } from './web.ts';

/** The HTTP API on top of a runtime; not listening yet, so tests can `inject`. */
export async function buildApp(runtime: Runtime): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    // Request ids make one request's log lines easy to find.
    requestIdHeader: 'x-request-id',
    // Unique across servers and restarts (Fastify's own ids restart at req-1 in every process).
    genReqId: () => randomUUID(),
    logController: new CompletedRequestsOnly(),
    // Behind Caddy the client's address is in X-Forwarded-For; trusted only from TRUST_PROXY.
    trustProxy: trustProxyOption(runtime.config.trustProxy),
  });
  app.setValidatorCompiler(zodValidatorCompiler);
  // Responses are built by our own services; validating them again would cost time on every request.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Fastify parses text/plain by default; every body here is JSON, so anything else is a 415.
  app.removeContentTypeParser('text/plain');

  registerErrorHandling(app);
  // The id goes back to the caller, who can quote it; it finds the request's log line.
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  await registerSecurityHeaders(app, runtime.config);
  await registerRateLimit(app, { config: runtime.config, isIngest: runtime.ingestAuth.isIngest });
  await registerOpenApi(app);
  registerAuth(app, { auth: runtime.auth, config: runtime.config });

  healthRoutes(app, { db: runtime.database.db, bus: runtime.bus });
  metricsRoutes(app, { metrics: runtime.metrics, token: runtime.config.metrics.token });
  pricesRoutes(app, {
    prices: runtime.services.prices,
    checkIngestToken: runtime.ingestAuth.check,
    readAccess: priceReadAccess(runtime.config.publicPrices),
  });
  clientStatusRoutes(app, {
    clientStatus: runtime.services.clientStatus,
    checkIngestToken: runtime.ingestAuth.check,
    readAccess: priceReadAccess(runtime.config.publicPrices),
  });
  notificationsRoutes(app, { notifications: runtime.services.notifications });
  alertsRoutes(app, { alerts: runtime.services.alerts });
  userChannelsRoutes(app, { channels: runtime.services.channels });
  eventsRoutes(app, { hub: runtime.hub });
  await registerWeb(app);
  return app;
}

/** TRUST_PROXY as Fastify takes it: a hop count becomes "trust the nearest n hops". */
function trustProxyOption(setting: boolean | number | string[]) {
  return typeof setting === 'number' ? (_address: string, hop: number) => hop < setting : setting;
}

/**
 * One log line per request, when it completes, instead of two: it carries the request id (reqId), the
 * method and URL (req), the status (res.statusCode) and the time in milliseconds (responseTime).
 */
class CompletedRequestsOnly extends LogController {
  override incomingRequest() {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    if (this.isLogDisabled(request)) return;
    const fields = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else reply.log.info(fields, 'request completed');
  }
}
