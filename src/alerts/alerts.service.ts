import type { Bus } from '../bus/bus.ts';
import type { Database } from '../db/connect.ts';
import { describeCondition } from '../notifications/conditions.ts';
import { DELIVERIES_CHANNEL } from '../notifications/evaluator.ts';
import type { Clock } from '../shared/clock.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { ConflictError, NotFoundError } from '../shared/errors.ts';
import type { AlertsRepo, AlertWithDeliveries } from './alerts.repo.ts';
import type { AlertListQuery, AlertView } from './alerts.schemas.ts';
import type { createMailboxRepo, createUserSettingsRepo } from './mailbox.repo.ts';

interface Caller {
  id: string;
}

export function createAlertsService(deps: {
  db: Database;
  repo: AlertsRepo;
  mailbox: ReturnType<typeof createMailboxRepo>;
  settings: ReturnType<typeof createUserSettingsRepo>;
  bus: Bus;
  clock: Clock;
  mailboxEnabled: boolean;
}) {
  const { db, repo } = deps;
  return {
    async list(caller: Caller, query: AlertListQuery) {
      const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
      const after = cursor && { firedAt: cursor.at, id: cursor.id };
      const rows = await repo.listForUser(db, caller.id, {
        limit: query.limit + 1,
        ...(after && { after }),
        ...(query.notification_id !== undefined && { notificationId: query.notification_id }),
        ...(query.symbol && { symbol: query.symbol }),
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        data: page.map(toView),
        next_cursor:
          rows.length > query.limit && last ? encodeCursor(new Date(last.fired_at), last.id) : null,
      };
    },

    async get(caller: Caller, id: string): Promise<AlertView> {
      const row = await repo.findForUser(db, caller.id, id);
      if (!row) throw new NotFoundError(`Alert '${id}' not found`);
      return toView(row);
    },

    /** Sends the alert's failed deliveries again, with three fresh attempts. */
    async retry(caller: Caller, id: string) {
      const row = await repo.findForUser(db, caller.id, id);
      if (!row) throw new NotFoundError(`Alert '${id}' not found`);
      const requeued = await repo.requeueFailed(db, caller.id, id, deps.clock.now());
      if (requeued === 0) throw new ConflictError(`Alert '${id}' has no failed delivery to retry`);
      deps.bus.publish(DELIVERIES_CHANNEL, { count: requeued }).catch(() => {});
      return { id, requeued };
    },

    async mailbox(caller: Caller) {
      const rows = await deps.mailbox.listForUser(db, caller.id, 100);
      return {
        enabled: deps.mailboxEnabled,
        data: rows.map((m) => ({
          id: m.id,
          message_id: m.messageId,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          created_at: m.createdAt.toISOString(),
        })),
      };
    },

    webhookSecret: async (caller: Caller) => ({ secret: await deps.settings.webhookSecret(db, caller.id) }),
    rotateWebhookSecret: async (caller: Caller) => ({
      secret: await deps.settings.rotateWebhookSecret(db, caller.id),
    }),
  };
}

export type AlertsService = ReturnType<typeof createAlertsService>;

function toView(row: AlertWithDeliveries): AlertView {
  const iso = (v: string | Date | null) => (v === null ? null : new Date(v).toISOString());
  return {
    id: row.id,
    notification_id: row.notification_id,
    symbol: row.symbol,
    condition: row.kind,
    condition_text: describeCondition(row.kind, row.threshold),
    threshold: row.threshold,
    price: row.price,
    price_at: new Date(row.price_at).toISOString(),
    fired_at: new Date(row.fired_at).toISOString(),
    deliveries: row.deliveries.map((d) => ({
      id: d.id,
      channel: d.channel,
      status: d.status,
      attempts: d.attempts,
      last_error: d.last_error,
      last_attempt_at: iso(d.last_attempt_at),
      sent_at: iso(d.sent_at),
      next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
      channel_name: d.channel_name,
    })),
  };
}
