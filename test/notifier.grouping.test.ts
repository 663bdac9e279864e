import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { BACKENDS, createTestApp, type TestApp } from './helpers/runtime.ts';
import { startSmtpServer } from './helpers/smtp.ts';

/**
 * Grouping: alerts of one user to one channel within the group window go out as one message. An
 * alert with nothing sent to its channel lately goes at once; the ones that follow within the window
 * wait for it to close and then go together.
 */
describe.each(BACKENDS)('grouping alerts (%s)', (backend) => {
  const clock = manualClock('2025-06-02T14:00:00Z');
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;
  let n = 0;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp(backend, {
      clock,
      env: { SMTP_URL: smtp.url, PUBLIC_URL: 'https://stocks.example.com' },
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** Rules on `count` new symbols of the user, and one price each that fires them. */
  async function fire(user: { id: string }, count: number) {
    const symbols: string[] = [];
    for (let i = 0; i < count; i++) {
      const symbol = `GR${++n}`;
      symbols.push(symbol);
      await t.runtime.services.notifications.create(user, {
        symbol,
        condition: 'above',
        threshold: 10,
      } as never);
      await t.runtime.services.prices.ingest({
        symbol,
        timestamp: clock.now().toISOString(),
        price: 10 + i + 0.5,
        volume: 1,
      });
    }
    return symbols;
  }
  const deliveries = async (user: { id: string }) =>
    (await t.runtime.services.alerts.list(user, { limit: 100 })).data.map((a) => ({
      symbol: a.symbol,
      ...a.deliveries[0]!,
    }));

  it('sends an isolated alert at once, then one email listing the 5 that followed within 30 s', async () => {
    const user = await insertUser(t.runtime, `group-${backend}@example.com`);
    const notifier = t.runtime.makeNotifier(`group-${backend}`);
    const before = smtp.received.length;

    const [first] = await fire(user, 1);
    expect(await notifier.runOnce()).toBe(1);
    expect(smtp.received.length).toBe(before + 1);
    expect(smtp.received[before]!.subject).toBe(`${first} > 10: now 10.5`);

    clock.advance(5_000);
    const five = await fire(user, 5);
    // The window opened by the first email is still open: held, not attempted.
    expect(await notifier.runOnce()).toBe(0);
    const held = (await deliveries(user)).filter((d) => five.includes(d.symbol));
    expect(held).toHaveLength(5);
    for (const d of held)
      expect(d).toMatchObject({
        status: 'pending',
        attempts: 0,
        next_attempt_at: '2025-06-02T14:00:30.000Z',
      });

    clock.set('2025-06-02T14:00:30Z');
    expect(await notifier.runOnce()).toBe(5);
    const mails = await smtp.waitFor(before + 2);
    expect(mails.length).toBe(before + 2);
    const grouped = mails[before + 1]!;
    expect(grouped.subject).toBe(`5 alerts: ${five.join(', ')}`);
    five.forEach((symbol, i) => {
      expect(grouped.decoded).toContain(
        `${symbol} is at ${10 + i + 0.5} (2025-06-02 14:00:05 UTC): ${symbol} price > 10`,
      );
      expect(grouped.decoded).toContain(`https://stocks.example.com/symbols/${symbol}`);
    });
    const sent = (await deliveries(user)).filter((d) => five.includes(d.symbol));
    for (const d of sent) expect(d).toMatchObject({ status: 'sent', attempts: 1 });
    // One message, one Message-ID: that of its first delivery (the oldest alert).
    const firstOfGroup = sent.find((d) => d.symbol === five[0])!;
    expect(grouped.messageId).toBe(`<${firstOfGroup.id}@stocks.example.com>`);
    expect(await notifier.runOnce()).toBe(0);
    expect(smtp.received.length).toBe(before + 2);
  });

  it('sends alerts that fire together as one message, and each by itself with the window at 0', async () => {
    const user = await insertUser(t.runtime, `together-${backend}@example.com`);
    const notifier = t.runtime.makeNotifier(`together-${backend}`);
    clock.advance(3_600_000);
    let before = smtp.received.length;
    const three = await fire(user, 3);
    expect(await notifier.runOnce()).toBe(3);
    await smtp.waitFor(before + 1);
    expect(smtp.received.slice(before).map((m) => m.subject)).toEqual([`3 alerts: ${three.join(', ')}`]);

    await t.runtime.services.channels.saveSettings(user, { group_window_seconds: 0, quiet_hours: null });
    clock.advance(1_000);
    before = smtp.received.length;
    const two = await fire(user, 2);
    expect(await notifier.runOnce()).toBe(2);
    await smtp.waitFor(before + 2);
    expect(
      smtp.received
        .slice(before)
        .map((m) => m.subject)
        .sort(),
    ).toEqual([`${two[0]} > 10: now 10.5`, `${two[1]} > 10: now 11.5`].sort());
  });

  it('lets two notifiers claim at once without sending any alert twice', async () => {
    const user = await insertUser(t.runtime, `race-${backend}@example.com`);
    const users = [user, await insertUser(t.runtime, `race2-${backend}@example.com`)];
    clock.advance(3_600_000);
    const before = smtp.received.length;
    for (const u of users) await fire(u, 4);
    const a = t.runtime.makeNotifier(`race-a-${backend}`);
    const b = t.runtime.makeNotifier(`race-b-${backend}`);
    const [x, y] = await Promise.all([a.runOnce(), b.runOnce()]);
    expect(x + y + (await a.runOnce()) + (await b.runOnce())).toBe(8);
    for (const u of users)
      for (const d of await deliveries(u)) expect(d).toMatchObject({ status: 'sent', attempts: 1 });
    // Every alert in exactly one email.
    const listed = smtp.received
      .slice(before)
      .flatMap((m) => [...m.decoded.matchAll(/(GR\d+) is at/g)].map((match) => match[1]));
    expect(listed.sort()).toEqual([...new Set(listed)].sort());
    expect(listed).toHaveLength(8);
  });
});
