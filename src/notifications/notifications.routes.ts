import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireUser, signedIn } from '../auth/current-user.ts';
import { problemResponses } from '../http/openapi.ts';
import {
  backtestResultSchema,
  backtestSchema,
  createdNotificationSchema,
  createNotificationSchema,
  idParamsSchema,
  listQuerySchema,
  notificationListSchema,
  notificationSchema,
  patchNotificationSchema,
} from './notifications.schemas.ts';
import type { NotificationsService } from './notifications.service.ts';

const tags = ['notifications'];
const security: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

export function notificationsRoutes(app: FastifyInstance, deps: { notifications: NotificationsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { notifications } = deps;

  r.post(
    '/notifications',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Create a notification',
        description:
          'The seed form `{"symbol":"AAPL","condition":"price > 150","threshold":150}` or a condition word ' +
          '(`above`, `crosses_below`, …) with `threshold`. Fires at most once per `cooldown_minutes`.',
        body: createNotificationSchema,
        response: { 201: createdNotificationSchema, ...problemResponses(401, 403, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const notification = await notifications.create(requireUser(request), request.body);
      reply.code(201);
      return { id: notification.id, status: 'created' as const, notification };
    },
  );

  r.post(
    '/notifications/backtest',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Every time a rule (not saved) would have fired on the stored prices',
        description:
          'Takes the fields of a new notification (without channels and expiry) and a range, by default the ' +
          '30 days before now, at most 366 days. Judges every stored price of the range as live evaluation ' +
          'judges a fresh price, honouring `cooldown_minutes` (on price time) and `trigger`.',
        body: backtestSchema,
        response: { 200: backtestResultSchema, ...problemResponses(401, 404, 422, 429) },
      },
    },
    async (request) => notifications.backtest(requireUser(request), request.body),
  );

  r.get(
    '/notifications',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: "The caller's notifications, newest first",
        querystring: listQuerySchema,
        response: { 200: notificationListSchema, ...problemResponses(401, 422) },
      },
    },
    async (request) => notifications.list(requireUser(request), request.query),
  );

  r.get(
    '/notifications/:id',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'One notification',
        params: idParamsSchema,
        response: { 200: notificationSchema, ...problemResponses(401, 404) },
      },
    },
    async (request) => notifications.get(requireUser(request), request.params.id),
  );

  r.patch(
    '/notifications/:id',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Pause, resume or change a notification',
        description:
          'Changing the condition, threshold or trigger arms the rule again (a fired `once` included).',
        params: idParamsSchema,
        body: patchNotificationSchema,
        response: { 200: notificationSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => notifications.update(requireUser(request), request.params.id, request.body),
  );

  r.delete(
    '/notifications/:id',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Delete a notification (its alert history stays)',
        params: idParamsSchema,
        response: { 204: z.null().meta({ description: 'Deleted' }), ...problemResponses(401, 404) },
      },
    },
    async (request, reply) => {
      await notifications.remove(requireUser(request), request.params.id);
      reply.code(204);
    },
  );
}
