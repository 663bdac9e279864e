import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { registerOpenApi } from '../src/http/openapi.ts';
import { zodValidatorCompiler } from '../src/http/validation.ts';
import { clientStatusRoutes } from '../src/market-data/client-status.routes.ts';
import { createClientStatusService } from '../src/market-data/client-status.service.ts';
import { systemClock } from '../src/shared/clock.ts';

// A file and an app of its own: these routes are checked whatever schemas other features register.
it('documents POST and GET /client-status in the OpenAPI document', async () => {
  const app = Fastify();
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await registerOpenApi(app);
  clientStatusRoutes(app, {
    clientStatus: createClientStatusService({ clock: systemClock }),
    checkIngestToken: () => {},
    readAccess: async () => {},
  });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  await app.close();
  expect(res.statusCode).toBe(200);
  const path = res.json().paths['/client-status'];
  expect(Object.keys(path)).toEqual(['post', 'get']);
  expect(path.post.security).toEqual([{ ingestToken: [] }]);
  expect(path.post.requestBody.content['application/json'].schema).toEqual({
    $ref: '#/components/schemas/ClientStatusReportInput',
  });
  expect(Object.keys(path.post.responses)).toEqual(['204', '401', '413', '415', '422']);
});
