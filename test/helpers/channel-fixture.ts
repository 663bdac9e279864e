import { afterAll, beforeAll, expect } from 'vitest';
import type { CreateChannelInput } from '../../src/alerts/user-channels.schemas.ts';
import { manualClock } from '../../src/shared/clock.ts';
import { insertUser } from './db-users.ts';
import { type Answer, startRecordingServer } from './recording-server.ts';
import { type Backend, createTestApp } from './runtime.ts';

export const START = '2025-06-02T14:00:00Z';
export const PUBLIC_URL = 'https://stocks.example.com';

/**
 * A runtime whose notifier talks to a local recording server (`WEBHOOK_ALLOW_PRIVATE` lets saved
 * channels reach 127.0.0.1, `TELEGRAM_API_URL` points the Bot API there), a user, and helpers to save a
 * channel and fire an alert through it. Grouping is off: these tests are about one message each.
 */
export async function channelFixture(
  backend: Backend,
  server: Awaited<ReturnType<typeof startRecordingServer>>,
  label: string,
) {
  const clock = manualClock(START);
  const t = await createTestApp(backend, {
    clock,
    env: {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      TELEGRAM_API_URL: server.url,
      PUBLIC_URL,
      DELIVERY_RETRY_BACKOFF: '1s',
    },
  });
  const user = await insertUser(t.runtime, `${label}-${backend}@example.com`, 'Chan');
  await t.runtime.services.channels.saveSettings(user, { group_window_seconds: 0, quiet_hours: null });
  let n = 0;
  return {
    t,
    clock,
    user,
    notifier: t.runtime.makeNotifier(`${label}-${backend}`),
    save: (input: CreateChannelInput) => t.runtime.services.channels.create(user, input),
    /** A rule on a new symbol sending through the saved channel, and a price of 101.5 that fires it. */
    async fire(channelId: string) {
      const symbol = `${label.slice(0, 3).toUpperCase()}${++n}`;
      const rule = await t.runtime.services.notifications.create(user, {
        symbol,
        condition: 'above',
        threshold: 100,
        channels: [{ type: 'channel', id: channelId }],
      } as never);
      await t.runtime.services.prices.ingest({
        symbol,
        timestamp: clock.now().toISOString(),
        price: 101.5,
        volume: 1,
      });
      const alerts = await t.runtime.services.alerts.list(user, { limit: 1, notification_id: rule.id });
      const alert = alerts.data[0]!;
      expect(alert.symbol).toBe(symbol);
      return { symbol, alertId: alert.id };
    },
    delivery: async (alertId: string) => (await t.runtime.services.alerts.get(user, alertId)).deliveries[0]!,
  };
}

/**
 * What each channel's test file shares: in a describe block, a recording server answering `response`,
 * the fixture, and one channel saved with `channel(serverUrl)` (before all its tests, closed after).
 */
export function useChannel(
  backend: Backend,
  options: { label: string; response: Answer; channel: (serverUrl: string) => CreateChannelInput },
) {
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let f: Awaited<ReturnType<typeof channelFixture>>;
  let channelId: string;
  beforeAll(async () => {
    server = await startRecordingServer(options.response);
    f = await channelFixture(backend, server, options.label);
    channelId = (await f.save(options.channel(server.url))).id;
  });
  afterAll(async () => {
    await f?.t.close();
    await server?.close();
  });
  return {
    get server() {
      return server;
    },
    get f() {
      return f;
    },
    /**
     * Fires a new alert through the channel, the service answering `answers` in turn (then `response`),
     * and runs the notifier once: the first attempt.
     */
    async fire(...answers: Answer[]) {
      server.reset();
      if (answers.length > 0) server.answer(...answers);
      const fired = await f.fire(channelId);
      expect(await f.notifier.runOnce()).toBe(1);
      return fired;
    },
    /** The one request the service received. */
    onlyRequest() {
      expect(server.requests).toHaveLength(1);
      return server.requests[0]!;
    },
  };
}
