import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireUser, signedIn } from '../auth/current-user.ts';
import { problemResponses } from '../http/openapi.ts';
import { idParamsSchema } from '../notifications/notifications.schemas.ts';
import {
  alertListQuerySchema,
  alertListSchema,
  alertSchema,
  mailboxListSchema,
  retryResponseSchema,
  webhookSecretSchema,
} from './alerts.schemas.ts';
import type { AlertsService } from './alerts.service.ts';

const security: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

export function alertsRoutes(app: FastifyInstance, deps: { alerts: AlertsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { alerts } = deps;

  r.get(
    '/alerts',
    {
      preValidation: signedIn,
      schema: {
        tags: ['alerts'],
        security,
        summary: "The caller's alert history, newest first, with each delivery's status",
        querystring: alertListQuerySchema,
        response: { 200: alertListSchema, ...problemResponses(401, 422) },
      },
    },
    async (request) => alerts.list(requireUser(request), request.query),
  );

  r.get(
    '/alerts/:id',
    {
      preValidation: signedIn,
      schema: {
        tags: ['alerts'],
        security,
        summary: 'One alert',
        params: idParamsSchema,
        response: { 200: alertSchema, ...problemResponses(401, 404) },
      },
    },
    async (request) => alerts.get(requireUser(request), request.params.id),
  );

  r.post(
    '/alerts/:id/retry',
    {
      preValidation: signedIn,
      schema: {
        tags: ['alerts'],
        security,
        summary: "Send an alert's failed deliveries again (three fresh attempts)",
        params: idParamsSchema,
        response: { 202: retryResponseSchema, ...problemResponses(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await alerts.retry(requireUser(request), request.params.id);
      reply.code(202);
      return result;
    },
  );

  r.get(
    '/mailbox',
    {
      preValidation: signedIn,
      schema: {
        tags: ['alerts'],
        security,
        summary:
          "The built-in mailbox: the caller's last 100 emails when no SMTP server or SES is configured",
        response: { 200: mailboxListSchema, ...problemResponses(401) },
      },
    },
    async (request) => alerts.mailbox(requireUser(request)),
  );

  r.get(
    '/settings/webhook-secret',
    {
      preValidation: signedIn,
      schema: {
        tags: ['settings'],
        security,
        summary: 'The secret that signs your webhooks (X-Stockwatch-Signature: sha256=HMAC of the body)',
        response: { 200: webhookSecretSchema, ...problemResponses(401) },
      },
    },
    async (request) => alerts.webhookSecret(requireUser(request)),
  );

  r.post(
    '/settings/webhook-secret/rotate',
    {
      preValidation: signedIn,
      schema: {
        tags: ['settings'],
        security,
        summary: 'Replace the webhook secret; the old one stops signing at once',
        response: { 200: webhookSecretSchema, ...problemResponses(401) },
      },
    },
    async (request) => alerts.rotateWebhookSecret(requireUser(request)),
  );
}
