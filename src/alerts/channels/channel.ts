import type { LeasedDelivery } from '../deliveries.repo.ts';
import type { AlertMessage } from '../message.ts';

/** A failed send. `permanent` skips the remaining attempts (retrying cannot help). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly options: { permanent?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message);
  }
}

/**
 * Where one message goes, resolved: an inline channel of the notification, or the settings of a saved
 * channel (`user_channels.config`, secrets included). Only the notifier and the test route see these.
 */
export type Target =
  | { type: 'email' }
  | { type: 'webhook'; url: string }
  | { type: 'ntfy'; server_url: string; topic: string; token?: string; priority?: number }
  | { type: 'slack'; webhook_url: string }
  | { type: 'discord'; webhook_url: string }
  | { type: 'telegram'; bot_token: string; chat_id: string };

export type TargetType = Target['type'];
export type TargetOf<T extends TargetType> = Extract<Target, { type: T }>;

/**
 * One way of reaching a person. Every channel goes through the same pipeline: lease, retries, record.
 * `delivery` is the first of the message's deliveries (its id keys idempotency); `message.alerts` lists
 * every alert the message carries (several when grouped), `delivery` first.
 */
export interface Channel<T extends TargetType = TargetType> {
  send(delivery: LeasedDelivery, message: AlertMessage, target: TargetOf<T>): Promise<void>;
}

/** Every channel module, by target type: what the notifier and the test route dispatch on. */
export type ChannelSet = { [K in TargetType]: Channel<K> };
