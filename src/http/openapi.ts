import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** Response entries for the problem documents a route can answer with. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema]));
}

/** OpenAPI 3.1 generated from the route schemas, served at /openapi.json with a page at /docs. */
export async function registerOpenApi(app: FastifyInstance) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stockwatch',
        version: '0.1.0',
        description: 'Stock prices in, alerts out. Errors are RFC 9457 problem documents.',
      },
      components: {
        securitySchemes: {
          ingestToken: { type: 'http', scheme: 'bearer', description: 'INGEST_TOKEN, for POST /stocks' },
          apiToken: { type: 'http', scheme: 'bearer', description: 'a personal API token (POST /tokens)' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'stockwatch.session_token',
            description:
              'the session cookie set by sign-in (named __Secure-stockwatch.session_token behind HTTPS)',
          },
          operatorToken: {
            type: 'apiKey',
            in: 'header',
            name: 'x-operator-token',
            description: 'the operator token in DATA_DIR/server.json; loopback only',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    // Without it the schemas named with .meta({ id }) are referenced but never defined.
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
