import type { Bus } from '../bus/bus.ts';
import { ALERTS_CHANNEL, type AlertEvent } from '../notifications/evaluator.ts';
import type { PricesEvent } from '../prices/prices.service.ts';

export interface LiveClient {
  userId: string | null;
  /** Symbols whose prices the client wants; empty means all. */
  symbols: ReadonlySet<string>;
  send(frame: string): void;
  /** Ends the stream (the server is shutting down; the browser will reconnect elsewhere). */
  end(): void;
}

/**
 * Fans bus events out to the open event streams of this process. One bus subscription per channel
 * whatever the number of clients, and each event serialised once: with several servers behind a load
 * balancer every server hears every event through Redis and serves its own clients.
 */
export function createEventHub(bus: Bus) {
  const clients = new Set<LiveClient>();
  const unsubscribes = [
    bus.subscribe('prices', (message) => {
      const event = message as PricesEvent;
      const frame = `event: price\ndata: ${JSON.stringify(event)}\n\n`;
      for (const c of clients) if (c.symbols.size === 0 || c.symbols.has(event.symbol)) c.send(frame);
    }),
    bus.subscribe(ALERTS_CHANNEL, (message) => {
      const { userId, ...event } = message as AlertEvent;
      const frame = `event: alert\ndata: ${JSON.stringify(event)}\n\n`;
      for (const c of clients) if (c.userId === userId) c.send(frame);
    }),
  ];

  return {
    add(client: LiveClient) {
      clients.add(client);
      return () => clients.delete(client);
    },
    size: () => clients.size,
    /** Ends every open stream, so that a closing server is not held open by its live clients. */
    endAll() {
      for (const c of clients) c.end();
      clients.clear();
    },
    close() {
      for (const u of unsubscribes) u();
      clients.clear();
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
