import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { startSmtpServer } from './helpers/smtp.ts';

// 23:00 in Berlin (UTC+2 in June), inside quiet hours of 22:00–07:00; they end at 05:00 UTC.
const NIGHT = '2025-06-02T21:00:00Z';
const MORNING = '2025-06-03T05:00:00Z';

/** Quiet hours live in the database: held deliveries wait there, whatever happens to notifiers. */
describe.each(BACKENDS)('quiet hours (%s)', (backend) => {
  const clock = manualClock(NIGHT);
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;
  let n = 0;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp(backend, { clock, env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  async function fire(user: { id: string }) {
    const symbol = `QH${++n}`;
    await t.runtime.services.notifications.create(user, {
      symbol,
      condition: 'above',
      threshold: 1,
    } as never);
    await t.runtime.services.prices.ingest({
      symbol,
      timestamp: clock.now().toISOString(),
      price: 2,
      volume: 1,
    });
    return symbol;
  }
  const history = async (user: { id: string }) =>
    (await t.runtime.services.alerts.list(user, { limit: 50 })).data.map((a) => ({
      symbol: a.symbol,
      ...a.deliveries[0]!,
    }));
  const quietUser = async (label: string, mode: 'hold' | 'drop') => {
    const user = await insertUser(t.runtime, `${label}-${backend}@example.com`);
    await t.runtime.services.channels.saveSettings(user, {
      group_window_seconds: 30,
      quiet_hours: { start: '22:00', end: '07:00', time_zone: 'Europe/Berlin', mode },
    });
    return user;
  };

  it('holds alerts until the quiet hours end, across a notifier restart, and sends them once as one email', async () => {
    clock.set(NIGHT);
    const user = await quietUser('hold', 'hold');
    const before = smtp.received.length;
    const first = t.runtime.makeNotifier(`night-${backend}`);
    first.start();
    const early = await fire(user);
    await first.kick();
    clock.set('2025-06-03T02:00:00Z'); // 04:00 in Berlin
    const late = await fire(user);
    await first.kick();
    for (const d of await history(user))
      expect(d).toMatchObject({
        status: 'pending',
        attempts: 0,
        last_attempt_at: null,
        next_attempt_at: '2025-06-03T05:00:00.000Z',
      });
    expect(smtp.received.length).toBe(before);
    // The notifier goes away during the night; nothing about the held alerts was in its memory.
    await first.stop();

    clock.set(MORNING);
    const second = t.runtime.makeNotifier(`morning-${backend}`);
    expect(await second.runOnce()).toBe(2);
    expect(await second.runOnce()).toBe(0);
    const mails = await smtp.waitFor(before + 1);
    expect(mails.length).toBe(before + 1);
    expect(mails[before]!.subject).toBe(`2 alerts: ${early}, ${late}`);
    expect(mails[before]!.decoded).toContain(`${early} is at 2`);
    expect(mails[before]!.decoded).toContain(`${late} is at 2`);
    for (const d of await history(user)) expect(d).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('drops alerts during quiet hours when asked to, and shows them as dropped', async () => {
    clock.set(NIGHT);
    const user = await quietUser('drop', 'drop');
    const before = smtp.received.length;
    const notifier = t.runtime.makeNotifier(`drop-${backend}`);
    const symbol = await fire(user);
    expect(await notifier.runOnce()).toBe(0);
    const [dropped] = await history(user);
    expect(dropped).toMatchObject({
      symbol,
      status: 'dropped',
      attempts: 0,
      next_attempt_at: null,
      last_error: 'dropped: quiet hours 22:00–07:00 (Europe/Berlin)',
    });
    clock.set(MORNING);
    expect(await notifier.runOnce()).toBe(0);
    expect(smtp.received.length).toBe(before);

    // Outside quiet hours the very same user's alerts go at once.
    const day = await fire(user);
    expect(await notifier.runOnce()).toBe(1);
    const mails = await smtp.waitFor(before + 1);
    expect(mails[before]!.subject).toBe(`${day} > 1: now 2`);
  });
});
