import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../http/openapi.ts';
import { createdTokenSchema, tokenIdParamsSchema, tokenNameSchema, tokenSchema } from './auth.schemas.ts';
import { requireUser } from './current-user.ts';
import type { TokensService } from './tokens.service.ts';

const tags = ['api tokens'];
const security: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

/** Personal API tokens, each visible to and revocable by its owner only. */
export function tokensRoutes(app: FastifyInstance, deps: { tokens: TokensService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { tokens } = deps;

  r.post(
    '/tokens',
    {
      schema: {
        tags,
        security,
        summary: 'Create a personal API token (shown once)',
        description:
          'Send it as `Authorization: Bearer <token>` to any user endpoint. Only its SHA-256 is stored.',
        body: z.strictObject({ name: tokenNameSchema }),
        response: { 201: createdTokenSchema, ...problemResponses(401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return tokens.create(requireUser(request).id, request.body.name);
    },
  );

  r.get(
    '/tokens',
    {
      schema: {
        tags,
        security,
        summary: "The caller's API tokens, newest first (never the tokens themselves)",
        response: { 200: z.object({ data: z.array(tokenSchema) }), ...problemResponses(401, 429) },
      },
    },
    async (request) => ({ data: await tokens.list(requireUser(request).id) }),
  );

  r.get(
    '/tokens/:id',
    {
      schema: {
        tags,
        security,
        summary: 'One of the caller’s API tokens',
        params: tokenIdParamsSchema,
        response: { 200: tokenSchema, ...problemResponses(401, 404, 429) },
      },
    },
    async (request) => tokens.get(requireUser(request).id, request.params.id),
  );

  r.delete(
    '/tokens/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Revoke an API token: the next request that presents it is refused',
        params: tokenIdParamsSchema,
        response: { 204: z.null(), ...problemResponses(401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await tokens.revoke(requireUser(request).id, request.params.id);
      return reply.code(204).send(null);
    },
  );
}
