import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemResponses } from '../http/openapi.ts';
import {
  callbackQuerySchema,
  profileSchema,
  sessionResponseSchema,
  setupStatusSchema,
  signInBodySchema,
  signInResponseSchema,
  signOutResponseSchema,
  signUpBodySchema,
  signUpResponseSchema,
  socialSignInBodySchema,
  socialSignInResponseSchema,
} from './auth.schemas.ts';
import { type AuthService, defaultName } from './auth.service.ts';
import { AUTH_BASE_PATH } from './better-auth.ts';
import { requireUser } from './current-user.ts';
import { sendWebResponse, toWebRequest } from './web-bridge.ts';

export interface AuthRoutesDeps {
  auth: AuthService;
  publicUrl: string | undefined;
  /** Per client IP and minute on sign-in and sign-up: password guessing is slow by design. */
  authRateLimitPerMinute: number;
  googleEnabled: boolean;
}

const tags = ['accounts'];

/**
 * better-auth's endpoints, each declared here with its schema (so it is validated strictly and
 * documented in /openapi.json) and served by better-auth. Paths better-auth has but we do not
 * declare are not reachable.
 */
export function authRoutes(app: FastifyInstance, deps: AuthRoutesDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { auth } = deps;
  const strict = { rateLimit: { max: deps.authRateLimitPerMinute, timeWindow: 60_000 } };
  const forward = async (request: FastifyRequest, reply: FastifyReply, body?: unknown) =>
    sendWebResponse(reply, await auth.forward(toWebRequest(request, deps.publicUrl, body)));

  r.get(
    `${AUTH_BASE_PATH}/setup`,
    {
      schema: {
        tags,
        summary: 'First run: whether any account exists yet, and which ways to sign in are on',
        description:
          'While `needs_setup` is true the dashboard offers to create the first account, which becomes admin.',
        response: { 200: setupStatusSchema, ...problemResponses(429, 503) },
      },
    },
    async () => auth.setupStatus(),
  );

  r.post(
    `${AUTH_BASE_PATH}/sign-up/email`,
    {
      config: strict,
      // Closed sign-up is refused before better-auth sees the request.
      preHandler: async () => auth.assertSignUpAllowed(),
      schema: {
        tags,
        summary: 'Create an account with email and password, and sign in',
        description:
          'Sets the session cookie (httpOnly, SameSite=Lax, Secure behind HTTPS). The first account ever ' +
          `created becomes admin. At most AUTH_RATE_LIMIT_PER_MINUTE attempts per client IP and minute.`,
        body: signUpBodySchema,
        response: { 200: signUpResponseSchema, ...problemResponses(403, 422, 429) },
      },
    },
    async (request, reply) =>
      forward(request, reply, {
        ...request.body,
        name: request.body.name ?? defaultName(request.body.email),
      }),
  );

  r.post(
    `${AUTH_BASE_PATH}/sign-in/email`,
    {
      config: strict,
      schema: {
        tags,
        summary: 'Sign in with email and password',
        description:
          'Sets the session cookie. At most AUTH_RATE_LIMIT_PER_MINUTE attempts per client IP and minute.',
        body: signInBodySchema,
        response: { 200: signInResponseSchema, ...problemResponses(401, 403, 422, 429) },
      },
    },
    async (request, reply) => forward(request, reply, request.body),
  );

  r.post(
    `${AUTH_BASE_PATH}/sign-out`,
    {
      schema: {
        tags,
        summary: 'Sign out: deletes the session on the server and clears the cookie',
        body: z.strictObject({}).nullish(),
        response: { 200: signOutResponseSchema, ...problemResponses(403, 429) },
      },
    },
    async (request, reply) => forward(request, reply, request.body ?? {}),
  );

  r.get(
    `${AUTH_BASE_PATH}/get-session`,
    {
      schema: {
        tags,
        summary: 'The session of the cookie sent, or null',
        response: { 200: sessionResponseSchema, ...problemResponses(429) },
      },
    },
    async (request, reply) => forward(request, reply),
  );

  r.get(
    '/me',
    {
      schema: {
        tags,
        summary: 'The caller: signed in with a session cookie or an API token',
        security: [{ session: [] }, { apiToken: [] }],
        response: { 200: profileSchema, ...problemResponses(401, 429) },
      },
    },
    async (request) => auth.profile(requireUser(request)),
  );

  if (!deps.googleEnabled) return;

  r.post(
    `${AUTH_BASE_PATH}/sign-in/social`,
    {
      config: strict,
      schema: {
        tags,
        summary: 'Start signing in with Google: answers the URL to send the browser to',
        description: 'Present when GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are set.',
        body: socialSignInBodySchema,
        response: { 200: socialSignInResponseSchema, ...problemResponses(403, 422, 429) },
      },
    },
    async (request, reply) => forward(request, reply, request.body),
  );

  r.get(
    `${AUTH_BASE_PATH}/callback/:providerId`,
    {
      schema: {
        tags,
        summary: 'Where Google sends the browser back: signs in and redirects to the callback URL',
        params: z.strictObject({ providerId: z.literal('google') }),
        querystring: callbackQuerySchema,
        response: {
          302: z.null().meta({ description: 'redirect to the callback URL' }),
          ...problemResponses(429),
        },
      },
    },
    async (request, reply) => forward(request, reply),
  );
}
