import { createHmac } from 'node:crypto';
import { describeCondition } from '../../notifications/conditions.ts';
import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import { type Channel, DeliveryError } from './channel.ts';
import { postHttp, retryAfterHeaderMs } from './http.ts';

export const SIGNATURE_HEADER = 'x-stockwatch-signature';

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const alertJson = (d: LeasedDelivery) => ({
  id: d.alertId,
  delivery_id: d.id,
  notification_id: d.notificationId,
  symbol: d.symbol,
  condition: d.kind,
  condition_text: describeCondition(d.kind, d.threshold),
  threshold: d.threshold,
  price: d.price,
  price_at: d.priceAt.toISOString(),
  fired_at: d.firedAt.toISOString(),
});

/**
 * A JSON POST to the user's URL, signed with the user's secret (HMAC-SHA256 over the body) and
 * carrying an Idempotency-Key (the first delivery id) so the receiver can drop the rare duplicate.
 * `alert` is the first alert (the body of a single alert is unchanged); `alerts` lists every alert of
 * a grouped message. Any non-2xx is retried: a generic receiver's 4xx is often a deploy in progress.
 */
export function createWebhookChannel(deps: {
  allowPrivate: boolean;
  secretFor: (userId: string) => Promise<string>;
}): Channel<'webhook'> {
  return {
    async send(delivery: LeasedDelivery, message: AlertMessage, target) {
      const body = JSON.stringify({
        type: 'alert',
        delivery_id: delivery.id,
        alert: alertJson(delivery),
        alerts: message.alerts.map(alertJson),
        subject: message.subject,
        text: message.text,
      });
      const secret = await deps.secretFor(delivery.userId);
      const answer = await postHttp(
        target.url,
        body,
        {
          'content-type': 'application/json',
          'user-agent': 'Stockwatch-Webhook/1',
          'idempotency-key': delivery.id,
          [SIGNATURE_HEADER]: signBody(secret, body),
        },
        { allowPrivate: deps.allowPrivate, service: 'Webhook' },
      );
      if (answer.status >= 200 && answer.status < 300) return;
      const retryAfterMs = retryAfterHeaderMs(answer.headers);
      throw new DeliveryError(`Webhook answered ${answer.status}`, {
        ...(retryAfterMs !== undefined && { retryAfterMs }),
      });
    },
  };
}
