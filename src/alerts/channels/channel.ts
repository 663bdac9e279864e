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

/** One way of reaching a person. Every channel goes through the same pipeline: lease, retries, record. */
export interface Channel {
  send(delivery: LeasedDelivery, message: AlertMessage): Promise<void>;
}
