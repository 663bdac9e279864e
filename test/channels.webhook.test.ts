import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelFixture } from './helpers/channel-fixture.ts';
import { startRecordingServer } from './helpers/recording-server.ts';
import { BACKENDS } from './helpers/runtime.ts';

/**
 * Saved channels of the two original types (a signed webhook, email) go through the same modules as the
 * inline ones; a grouped webhook lists every alert. Our own webhook is the one channel we sign.
 */
describe.each(BACKENDS)('saved webhook and email channels (%s)', (backend) => {
  let server: Awaited<ReturnType<typeof startRecordingServer>>;
  let f: Awaited<ReturnType<typeof channelFixture>>;
  let hookId: string;

  beforeAll(async () => {
    server = await startRecordingServer({ status: 204 });
    f = await channelFixture(backend, server, 'hook');
    hookId = (await f.save({ type: 'webhook', name: 'ops', config: { url: `${server.url}/in?k=1` } })).id;
  });
  afterAll(async () => {
    await f.t.close();
    await server.close();
  });

  it('signs the body with the user’s secret and names the saved channel in the history', async () => {
    server.reset();
    const { symbol, alertId } = await f.fire(hookId);
    expect(await f.notifier.runOnce()).toBe(1);
    const request = server.requests[0]!;
    expect(request.path).toBe('/in?k=1');
    const { secret } = await f.t.runtime.services.alerts.webhookSecret(f.user);
    expect(request.headers['x-stockwatch-signature']).toBe(
      `sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`,
    );
    const body = JSON.parse(request.body);
    const delivery = await f.delivery(alertId);
    expect(request.headers['idempotency-key']).toBe(delivery.id);
    expect(body).toMatchObject({ type: 'alert', delivery_id: delivery.id, alert: { symbol, price: 101.5 } });
    expect(body.alerts).toEqual([body.alert]);
    expect(delivery).toMatchObject({
      status: 'sent',
      channel: { type: 'channel', id: hookId },
      channel_name: 'ops',
    });
  });

  it('sends alerts grouped in a window as one signed request listing each', async () => {
    await f.t.runtime.services.channels.saveSettings(f.user, { group_window_seconds: 30, quiet_hours: null });
    try {
      server.reset();
      f.clock.advance(3_600_000);
      const first = await f.fire(hookId);
      expect(await f.notifier.runOnce()).toBe(1);
      f.clock.advance(10_000);
      const a = await f.fire(hookId);
      const b = await f.fire(hookId);
      expect(await f.notifier.runOnce()).toBe(0);
      f.clock.advance(20_000);
      expect(await f.notifier.runOnce()).toBe(2);
      expect(server.requests).toHaveLength(2);
      const grouped = JSON.parse(server.requests[1]!.body);
      expect(grouped.alerts.map((x: { symbol: string }) => x.symbol)).toEqual([a.symbol, b.symbol]);
      expect(grouped.alert.symbol).toBe(a.symbol);
      expect(grouped.subject).toBe(`2 alerts: ${a.symbol}, ${b.symbol}`);
      expect(server.requests[1]!.headers['idempotency-key']).toBe((await f.delivery(a.alertId)).id);
      for (const { alertId } of [first, a, b]) expect((await f.delivery(alertId)).status).toBe('sent');
    } finally {
      await f.t.runtime.services.channels.saveSettings(f.user, {
        group_window_seconds: 0,
        quiet_hours: null,
      });
    }
  });

  it('fails a pending delivery at once when its saved channel was deleted meanwhile', async () => {
    const doomed = await f.save({ type: 'webhook', name: 'old', config: { url: `${server.url}/old` } });
    const { alertId } = await f.fire(doomed.id);
    // The rule moves to email and the channel goes, while the alert's delivery still waits.
    const alert = await f.t.runtime.services.alerts.get(f.user, alertId);
    await f.t.runtime.services.notifications.update(f.user, alert.notification_id!, {
      channels: [{ type: 'email' }],
    });
    await f.t.runtime.services.channels.remove(f.user, doomed.id);
    server.reset();
    expect(await f.notifier.runOnce()).toBe(1);
    expect(server.requests).toHaveLength(0);
    expect(await f.delivery(alertId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      channel_name: null,
      last_error: `Channel '${doomed.id}' no longer exists`,
    });
  });

  it('sends a saved email channel to the account address (built-in mailbox here)', async () => {
    const inbox = await f.save({ type: 'email', name: 'inbox', config: {} });
    const { symbol, alertId } = await f.fire(inbox.id);
    expect(await f.notifier.runOnce()).toBe(1);
    expect((await f.delivery(alertId)).status).toBe('sent');
    const box = await f.t.runtime.services.alerts.mailbox(f.user);
    expect(box.data[0]).toMatchObject({ to: f.user.email, subject: `${symbol} > 100: now 101.5` });
  });
});
