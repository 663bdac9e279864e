import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { pricesRoutes } from '../prices/prices.routes.ts';
import type { Runtime } from '../runtime.ts';
import { registerErrorHandling } from './errors.ts';
import { healthRoutes } from './health.routes.ts';
import { registerOpenApi } from './openapi.ts';
import { zodValidatorCompiler } from './validation.ts';

/** The HTTP API on top of a runtime; not listening yet, so tests can `inject`. */
export async function buildApp(runtime: Runtime): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: runtime.logger as FastifyBaseLogger,
    bodyLimit: 256 * 1024,
    // Request ids make one request's log lines easy to find.
    requestIdHeader: 'x-request-id',
    logController: new CompletedRequestsOnly(),
  });
  app.setValidatorCompiler(zodValidatorCompiler);
  // Responses are built by our own services; validating them again would cost time on every request.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Fastify parses text/plain by default; every body here is JSON, so anything else is a 415.
  app.removeContentTypeParser('text/plain');

  registerErrorHandling(app);
  await registerOpenApi(app);

  healthRoutes(app, { db: runtime.database.db });
  pricesRoutes(app, { prices: runtime.services.prices, checkIngestToken: runtime.checkIngestToken });
  return app;
}

/** One log line per request (when it completes, with status and time) instead of two. */
class CompletedRequestsOnly extends LogController {
  override incomingRequest() {}
}
