import { expect } from 'vitest';
import type { CreateChannelInput } from '../../src/alerts/user-channels.schemas.ts';
import { manualClock } from '../../src/shared/clock.ts';
import { insertUser } from './db-users.ts';
import type { startRecordingServer } from './recording-server.ts';
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
