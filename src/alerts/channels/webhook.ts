import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { describeCondition } from '../../notifications/conditions.ts';
import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';
import { type Channel, DeliveryError } from './channel.ts';
import { isPrivateAddress } from './network-guard.ts';

export const SIGNATURE_HEADER = 'x-stockwatch-signature';
const TIMEOUT_MS = 5000;

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A JSON POST to the user's URL, signed with the user's secret (HMAC-SHA256 over the body) and
 * carrying an Idempotency-Key (the delivery id) so the receiver can drop the rare duplicate.
 * The address is checked after DNS resolution, on the connection itself, so a name that resolves to
 * a private address is refused too.
 */
export function createWebhookChannel(deps: {
  allowPrivate: boolean;
  secretFor: (userId: string) => Promise<string>;
}): Channel {
  return {
    async send(delivery: LeasedDelivery, message: AlertMessage) {
      if (delivery.channel.type !== 'webhook')
        throw new DeliveryError('Not a webhook delivery', { permanent: true });
      const body = JSON.stringify({
        type: 'alert',
        delivery_id: delivery.id,
        alert: {
          id: delivery.alertId,
          notification_id: delivery.notificationId,
          symbol: delivery.symbol,
          condition: delivery.kind,
          condition_text: describeCondition(delivery.kind, delivery.threshold),
          threshold: delivery.threshold,
          price: delivery.price,
          price_at: delivery.priceAt.toISOString(),
          fired_at: delivery.firedAt.toISOString(),
        },
        subject: message.subject,
        text: message.text,
      });
      const secret = await deps.secretFor(delivery.userId);
      const response = await post(delivery.channel.url, body, {
        'content-type': 'application/json',
        'user-agent': 'Stockwatch-Webhook/1',
        'idempotency-key': delivery.id,
        [SIGNATURE_HEADER]: signBody(secret, body),
      });
      if (response.status >= 200 && response.status < 300) return;
      const retryAfter = Number(response.retryAfter);
      throw new DeliveryError(`Webhook answered ${response.status}`, {
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 && { retryAfterMs: retryAfter * 1000 }),
      });
    },
  };

  function post(url: string, body: string, headers: Record<string, string>) {
    const target = new URL(url);
    // An address literal never goes through `lookup`, so it is checked here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (!deps.allowPrivate && isPrivateAddress(literal))
      return Promise.reject(new DeliveryError(`Webhook not delivered: refused private address ${literal}`));
    const client = target.protocol === 'https:' ? https : http;
    return new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const request = client.request(
        target,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': Buffer.byteLength(body) },
          timeout: TIMEOUT_MS,
          lookup: (hostname, options, callback) =>
            lookup(hostname, { ...options, all: false }, (error, address, family) => {
              if (!error && !deps.allowPrivate && isPrivateAddress(String(address)))
                return callback(new Error(`refused private address ${address}`), '', 0);
              callback(error, address as string, family);
            }),
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] }),
          );
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
      request.on('error', (error) => reject(new DeliveryError(`Webhook not delivered: ${error.message}`)));
      request.end(body);
    });
  }
}
