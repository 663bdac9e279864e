import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';

export type Handler = (message: unknown) => void;

/**
 * Fire-and-forget fan-out between processes: wake-ups for notifiers and events for live dashboards.
 * Nothing durable travels here; a lost message only costs latency, because every consumer also
 * reads the database on its own schedule.
 */
export interface Bus {
  readonly kind: 'memory' | 'redis';
  publish(channel: string, message: unknown): Promise<void>;
  /** Returns the function that unsubscribes. */
  subscribe(channel: string, handler: Handler): () => void;
  /** True when the bus can carry messages now (Redis: both connections up and a PING answered). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export function createBus(redisUrl: string | undefined, onError: (error: Error) => void): Bus {
  return redisUrl ? createRedisBus(redisUrl, onError) : createMemoryBus();
}

export function createMemoryBus(): Bus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    kind: 'memory',
    async publish(channel, message) {
      // Deliver on a later tick so that publishers never run subscriber code inside their own call.
      queueMicrotask(() => emitter.emit(channel, message));
    },
    subscribe(channel, handler) {
      emitter.on(channel, handler);
      return () => emitter.off(channel, handler);
    },
    async ping() {
      return true;
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

const CHANNEL_PREFIX = 'stockwatch:';
const PING_TIMEOUT_MS = 1000;

function createRedisBus(redisUrl: string, onError: (error: Error) => void): Bus {
  const options = { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false };
  const publisher = new Redis(redisUrl, options);
  // A connection in subscriber mode can do nothing else, hence two.
  const subscriber = new Redis(redisUrl, { ...options, enableOfflineQueue: true });
  const local = createMemoryBus();
  const counts = new Map<string, number>();
  for (const connection of [publisher, subscriber]) connection.on('error', onError);

  subscriber.on('message', (prefixed: string, payload: string) => {
    try {
      void local.publish(prefixed.slice(CHANNEL_PREFIX.length), JSON.parse(payload));
    } catch (error) {
      onError(error as Error);
    }
  });

  return {
    kind: 'redis',
    async publish(channel, message) {
      await publisher.publish(CHANNEL_PREFIX + channel, JSON.stringify(message));
    },
    subscribe(channel, handler) {
      const unsubscribeLocal = local.subscribe(channel, handler);
      const count = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, count);
      if (count === 1) subscriber.subscribe(CHANNEL_PREFIX + channel).catch(onError);
      return () => {
        unsubscribeLocal();
        const left = (counts.get(channel) ?? 1) - 1;
        counts.set(channel, left);
        if (left === 0) subscriber.unsubscribe(CHANNEL_PREFIX + channel).catch(onError);
      };
    },
    async ping() {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready') return false;
      // Without the offline queue a PING fails at once when the link is down; the timer covers a hung one.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      });
      const answer = publisher.ping().then(
        () => true,
        () => false,
      );
      return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
    },
    async close() {
      await local.close();
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
