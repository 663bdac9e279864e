import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../http/openapi.ts';
import { ForbiddenError, UnauthorizedError } from '../shared/errors.ts';
import {
  createdTokenSchema,
  emailSchema,
  passwordSchema,
  profileSchema,
  tokenNameSchema,
} from './auth.schemas.ts';
import type { AuthService } from './auth.service.ts';

/** Header of the operator credential; a header of its own, so it can never be mistaken for an API token. */
export const OPERATOR_HEADER = 'x-operator-token';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * What `stockwatch users|tokens create` call when the embedded database is owned by a running server.
 * Accepted only over a loopback connection (the socket's own address, not a forwarded one) with the
 * operator token the server wrote to DATA_DIR/server.json (mode 0600): whoever can read that file can
 * already read the database.
 */
export function operatorRoutes(app: FastifyInstance, deps: { auth: AuthService; operatorToken: string }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const expected = digest(deps.operatorToken);
  const guard = async (request: FastifyRequest) => {
    if (!LOOPBACK.test(request.socket.remoteAddress ?? ''))
      throw new ForbiddenError('Operator commands are accepted from this machine only');
    const presented = request.headers[OPERATOR_HEADER];
    if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), expected))
      throw new UnauthorizedError(`Missing or wrong ${OPERATOR_HEADER} header`);
  };
  const common = {
    tags: ['operator'],
    security: [{ operatorToken: [] }] as Array<Record<string, string[]>>,
  };

  r.post(
    '/operator/users',
    {
      onRequest: guard,
      schema: {
        ...common,
        summary: 'Create an account (stockwatch users create); loopback and operator token only',
        body: z.strictObject({
          email: emailSchema,
          password: passwordSchema,
          name: z.string().min(1).max(100).optional(),
        }),
        response: { 201: profileSchema, ...problemResponses(401, 403, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return deps.auth.createUser(request.body);
    },
  );

  r.post(
    '/operator/tokens',
    {
      onRequest: guard,
      schema: {
        ...common,
        summary:
          'Create an API token for a user (stockwatch tokens create); loopback and operator token only',
        body: z.strictObject({ email: emailSchema, name: tokenNameSchema }),
        response: { 201: createdTokenSchema, ...problemResponses(401, 403, 404, 422, 429) },
      },
    },
    async (request, reply) => {
      reply.code(201);
      return deps.auth.createTokenFor(request.body.email, request.body.name);
    },
  );
}
