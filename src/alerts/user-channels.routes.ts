import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireUser, signedIn } from '../auth/current-user.ts';
import { problemResponses } from '../http/openapi.ts';
import { idParamsSchema } from '../notifications/notifications.schemas.ts';
import {
  channelListSchema,
  channelTestResultSchema,
  channelViewSchema,
  createChannelSchema,
  notificationSettingsSchema,
  patchChannelSchema,
} from './user-channels.schemas.ts';
import type { UserChannelsService } from './user-channels.service.ts';

const tags = ['channels'];
const security: Array<Record<string, string[]>> = [{ session: [] }, { apiToken: [] }];

/** Saved channels (`{type:"channel", id}` in a notification's `channels`) and notification settings. */
export function userChannelsRoutes(app: FastifyInstance, deps: { channels: UserChannelsService }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { channels } = deps;

  r.get(
    '/channels',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: "The caller's saved channels, oldest first, secrets masked",
        response: { 200: channelListSchema, ...problemResponses(401) },
      },
    },
    async (request) => channels.list(requireUser(request)),
  );

  r.post(
    '/channels',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Save a channel: ntfy, Slack, Discord, Telegram, a signed webhook, or email',
        body: createChannelSchema,
        response: { 201: channelViewSchema, ...problemResponses(401, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await channels.create(requireUser(request), request.body);
      reply.code(201);
      return created;
    },
  );

  r.get(
    '/channels/:id',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'One saved channel, secrets masked',
        params: idParamsSchema,
        response: { 200: channelViewSchema, ...problemResponses(401, 404) },
      },
    },
    async (request) => channels.get(requireUser(request), request.params.id),
  );

  r.patch(
    '/channels/:id',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Rename a channel or change its settings (secrets left out keep their value)',
        params: idParamsSchema,
        body: patchChannelSchema,
        response: { 200: channelViewSchema, ...problemResponses(401, 404, 422) },
      },
    },
    async (request) => channels.update(requireUser(request), request.params.id, request.body),
  );

  r.delete(
    '/channels/:id',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Delete a channel no notification uses (409 while one does)',
        params: idParamsSchema,
        response: { 204: z.null().meta({ description: 'Deleted' }), ...problemResponses(401, 404, 409) },
      },
    },
    async (request, reply) => {
      await channels.remove(requireUser(request), request.params.id);
      reply.code(204);
    },
  );

  r.post(
    '/channels/:id/test',
    {
      preValidation: signedIn,
      schema: {
        tags,
        security,
        summary: 'Send a test message now; 502 with the service’s answer when it fails',
        params: idParamsSchema,
        response: { 200: channelTestResultSchema, ...problemResponses(401, 404, 502) },
      },
    },
    async (request) => channels.test(requireUser(request), request.params.id),
  );

  r.get(
    '/settings/notifications',
    {
      preValidation: signedIn,
      schema: {
        tags: ['settings'],
        security,
        summary: 'Grouping window and quiet hours',
        response: { 200: notificationSettingsSchema, ...problemResponses(401) },
      },
    },
    async (request) => channels.settings(requireUser(request)),
  );

  r.put(
    '/settings/notifications',
    {
      preValidation: signedIn,
      schema: {
        tags: ['settings'],
        security,
        summary: 'Set the grouping window and quiet hours (null: none)',
        body: notificationSettingsSchema,
        response: { 200: notificationSettingsSchema, ...problemResponses(401, 422) },
      },
    },
    async (request) => channels.saveSettings(requireUser(request), request.body),
  );
}
