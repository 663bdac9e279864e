import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { eventually, spawnStockwatch, startPrivateRedis } from './helpers/process.ts';
import { createTestApp, createTestDatabase, type TestApp } from './helpers/runtime.ts';
import { startSmtpServer } from './helpers/smtp.ts';

/**
 * Failures with real processes: notifiers are `stockwatch notifier` children on the real
 * PostgreSQL; the server side (evaluation on ingest) runs in this process on the same database.
 */
describe('notifier faults', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let server: TestApp;
  let owner: { id: string };
  const clock = manualClock(new Date());
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpServer();
    redis = await startPrivateRedis();
    server = await createTestApp('postgres', {
      databaseUrl: database.url,
      clock,
      env: { REDIS_URL: redis.url },
    });
    owner = await insertUser(server.runtime, 'faults@example.com');
    // One email per alert: these tests count messages per symbol (grouping: notifier.grouping.test.ts).
    await server.runtime.services.channels.saveSettings(owner, {
      group_window_seconds: 0,
      quiet_hours: null,
    });
  });
  afterAll(async () => {
    await server.close();
    await smtp.close();
    await redis.stop();
    await database.drop();
  });

  const notifierEnv = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    SMTP_URL: smtp.url,
    DELIVERY_LEASE: '3s',
    NOTIFIER_SWEEP_INTERVAL: '500ms',
    DATA_DIR: server.dataDir,
    ...extra,
  });

  async function fireAlert() {
    const symbol = `FLT${++n}`;
    await server.runtime.services.notifications.create({ id: owner.id }, {
      symbol,
      condition: 'above',
      threshold: 1,
    } as never);
    clock.set(new Date());
    await server.runtime.services.prices.ingest({
      symbol,
      timestamp: clock.now().toISOString(),
      price: 2,
      volume: 1,
    });
    return symbol;
  }
  const deliveryOf = async (symbol: string) => {
    const alerts = await server.runtime.services.alerts.list(owner, { limit: 200 });
    return alerts.data.find((a) => a.symbol === symbol)?.deliveries[0];
  };

  it('finishes the send of a notifier killed mid-send through another, with at most one duplicate of the same Message-ID', async () => {
    smtp.holdReplies(true);
    const first = spawnStockwatch(['notifier'], notifierEnv());
    await first.waitForOutput(/notifier started/);
    const before = smtp.received.length;
    const symbol = await fireAlert();
    // The first notifier has sent the message and waits for the server's answer: kill it there.
    await eventually(() => smtp.heldCount() === 1);
    expect(await first.kill('SIGKILL')).toBe('SIGKILL');
    // The SMTP server had the whole message; it accepts it although the sender never hears so.
    smtp.release();

    const second = spawnStockwatch(['notifier'], notifierEnv());
    try {
      const sent = await eventually(async () => {
        const d = await deliveryOf(symbol);
        return d?.status === 'sent' ? d : undefined;
      });
      expect(sent.attempts).toBe(2);
      const copies = smtp.received.slice(before).filter((m) => m.subject.startsWith(symbol));
      expect(copies.length).toBeGreaterThanOrEqual(1);
      expect(copies.length).toBeLessThanOrEqual(2);
      expect(new Set(copies.map((m) => m.messageId)).size).toBe(1);
      expect(copies[0]!.messageId).toContain(sent.id);
    } finally {
      await second.kill();
    }
  });

  it('delivers every alert through the sweep while Redis is down, and again once it is back', async () => {
    const notifier = spawnStockwatch(
      ['notifier'],
      notifierEnv({ REDIS_URL: redis.url, NOTIFIER_SWEEP_INTERVAL: '1s' }),
    );
    try {
      await notifier.waitForOutput(/notifier started/);
      await redis.stop();
      const during = [await fireAlert(), await fireAlert(), await fireAlert()];
      for (const symbol of during)
        await eventually(async () => (await deliveryOf(symbol))?.status === 'sent');

      await redis.restart();
      const after = await fireAlert();
      await eventually(async () => (await deliveryOf(after))?.status === 'sent');
      for (const symbol of [...during, after])
        expect(smtp.received.filter((m) => m.subject.startsWith(`${symbol} `))).toHaveLength(1);
      expect(await notifier.kill('SIGTERM')).toBe(0);
    } finally {
      await notifier.kill('SIGKILL');
    }
  });
});
