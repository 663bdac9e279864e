import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/shared/clock.ts';
import { insertUser } from './helpers/db-users.ts';
import { createTestApp, type TestApp } from './helpers/runtime.ts';
import { startSmtpServer } from './helpers/smtp.ts';

const START = '2025-06-02T14:00:00Z';

describe('delivery by email through a real SMTP server', () => {
  const clock = manualClock(START);
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let t: TestApp;
  let user: { id: string; email: string };
  let n = 0;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp('postgres', {
      clock,
      env: {
        SMTP_URL: smtp.url,
        EMAIL_FROM: 'Stockwatch <alerts@example.com>',
        PUBLIC_URL: 'https://stocks.example.com',
        DELIVERY_RETRY_BACKOFF: '10s',
      },
    });
    user = await insertUser(t.runtime, 'eve@example.com', 'Eve');
    // These tests are about attempts of one message each; grouping has its own (notifier.grouping.test.ts).
    await t.runtime.services.channels.saveSettings(user, { group_window_seconds: 0, quiet_hours: null });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });
  afterEach(() => {
    smtp.refuseAlways(false);
    smtp.refuse(0);
  });

  const caller = () => ({ id: user.id });
  /** A symbol of its own per test, a rule on it, and a price that makes it fire. */
  async function fire(options: Record<string, unknown> = {}) {
    const symbol = `NT${++n}`;
    const rule = await t.runtime.services.notifications.create(caller(), {
      symbol,
      condition: 'price > 150',
      threshold: 150,
      ...options,
    } as never);
    await t.runtime.services.prices.ingest({
      symbol,
      timestamp: clock.now().toISOString(),
      price: 151.25,
      volume: 10,
    });
    const alerts = await t.runtime.services.alerts.list(caller(), { limit: 10, notification_id: rule.id });
    expect(alerts.data).toHaveLength(1);
    return { symbol, rule, alert: alerts.data[0]! };
  }
  const alertNow = async (id: string) => t.runtime.services.alerts.get(caller(), id);

  it('sends exactly one email to the owner, with what fired and how to pause it', async () => {
    const notifier = t.runtime.makeNotifier('email-1');
    const before = smtp.received.length;
    const { symbol, rule, alert } = await fire();
    expect(await notifier.runOnce()).toBe(1);
    const mails = await smtp.waitFor(before + 1);
    const mail = mails[before]!;
    expect(mail.to).toEqual(['eve@example.com']);
    expect(mail.from).toBe('alerts@example.com');
    expect(mail.subject).toBe(`${symbol} > 150: now 151.25`);
    expect(mail.decoded).toContain(`${symbol} is at 151.25`);
    expect(mail.decoded).toContain(`https://stocks.example.com/symbols/${symbol}`);
    expect(mail.decoded).toContain(`https://stocks.example.com/notifications/${rule.id}`);
    expect(mail.raw).toContain('text/html');
    const delivered = await alertNow(alert.id);
    expect(delivered.deliveries).toMatchObject([{ status: 'sent', attempts: 1, last_error: null }]);
    expect(mail.messageId).toBe(`<${delivered.deliveries[0]!.id}@stocks.example.com>`);

    // A second qualifying price inside the cooldown sends nothing more.
    clock.advance(60_000);
    await t.runtime.services.prices.ingest({
      symbol,
      timestamp: clock.now().toISOString(),
      price: 152,
      volume: 1,
    });
    expect(await notifier.runOnce()).toBe(0);
    expect(smtp.received.length).toBe(before + 1);
  });

  it('retries a 4xx with backoff and delivers on the third attempt', async () => {
    const notifier = t.runtime.makeNotifier('email-2');
    const before = smtp.received.length;
    smtp.refuse(2);
    const { alert } = await fire();
    expect(await notifier.runOnce()).toBe(1);
    let state = await alertNow(alert.id);
    expect(state.deliveries[0]).toMatchObject({ status: 'pending', attempts: 1 });
    expect(state.deliveries[0]!.last_error).toContain('451');
    // Not due before its backoff (10 s ± 50%) has passed.
    expect(await notifier.runOnce()).toBe(0);
    clock.advance(15_001);
    expect(await notifier.runOnce()).toBe(1);
    state = await alertNow(alert.id);
    expect(state.deliveries[0]).toMatchObject({ status: 'pending', attempts: 2 });
    clock.advance(30_001);
    expect(await notifier.runOnce()).toBe(1);
    state = await alertNow(alert.id);
    expect(state.deliveries[0]).toMatchObject({ status: 'sent', attempts: 3 });
    expect(smtp.received.length).toBe(before + 1);
  });

  it('marks a delivery failed after three attempts, shows it, and delivers it after a retry by hand', async () => {
    const notifier = t.runtime.makeNotifier('email-3');
    const before = smtp.received.length;
    smtp.refuseAlways(true);
    const { alert } = await fire();
    for (let i = 0; i < 3; i++) {
      expect(await notifier.runOnce()).toBe(1);
      clock.advance(60_000);
    }
    expect(await notifier.runOnce()).toBe(0);
    const failed = await alertNow(alert.id);
    expect(failed.deliveries[0]).toMatchObject({ status: 'failed', attempts: 3, next_attempt_at: null });
    expect(failed.deliveries[0]!.last_error).toMatch(/451/);
    const history = await t.runtime.services.alerts.list(caller(), { limit: 50 });
    expect(history.data.find((a) => a.id === alert.id)?.deliveries[0]?.status).toBe('failed');

    smtp.refuseAlways(false);
    expect(await t.runtime.services.alerts.retry(caller(), alert.id)).toEqual({ id: alert.id, requeued: 1 });
    expect(await notifier.runOnce()).toBe(1);
    expect((await alertNow(alert.id)).deliveries[0]).toMatchObject({ status: 'sent', attempts: 1 });
    expect(smtp.received.length).toBe(before + 1);
    await expect(t.runtime.services.alerts.retry(caller(), alert.id)).rejects.toThrow(/no failed delivery/);
  });

  it("refuses to retry another user's alert as if it did not exist", async () => {
    const { alert } = await fire();
    const mallory = await insertUser(t.runtime, `mallory${n}@example.com`);
    await expect(t.runtime.services.alerts.retry({ id: mallory.id }, alert.id)).rejects.toThrow(
      `Alert '${alert.id}' not found`,
    );
    await expect(t.runtime.services.alerts.get({ id: mallory.id }, alert.id)).rejects.toThrow('not found');
  });
});

describe('delivery by webhook', () => {
  const clock = manualClock(START);
  let t: TestApp;
  let userId: string;
  let server: http.Server;
  let url: string;
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let answers: number[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests.push({ headers: req.headers, body });
        const status = answers.shift() ?? 204;
        if (status === 429) res.setHeader('retry-after', '120');
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    t = await createTestApp('pglite', {
      clock,
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', DELIVERY_RETRY_BACKOFF: '1s' },
    });
    userId = (await insertUser(t.runtime, 'hook@example.com')).id;
  });
  afterAll(async () => {
    await t.close();
    server.close();
  });

  it('posts a signed JSON body with an Idempotency-Key, and honours Retry-After on 429', async () => {
    const notifier = t.runtime.makeNotifier('hook-1');
    answers = [429, 204];
    const rule = await t.runtime.services.notifications.create({ id: userId }, {
      symbol: 'HOOK',
      condition: 'below',
      threshold: 10,
      channels: [{ type: 'webhook', url }],
    } as never);
    await t.runtime.services.prices.ingest({
      symbol: 'HOOK',
      timestamp: clock.now().toISOString(),
      price: 9.5,
      volume: 1,
    });
    expect(await notifier.runOnce()).toBe(1);
    // Backoff alone would allow a retry after ~1 s; the receiver asked for 120 s.
    clock.advance(60_000);
    expect(await notifier.runOnce()).toBe(0);
    clock.advance(61_000);
    expect(await notifier.runOnce()).toBe(1);

    expect(requests).toHaveLength(2);
    const last = requests[1]!;
    const { secret } = await t.runtime.services.alerts.webhookSecret({ id: userId });
    const expected = `sha256=${createHmac('sha256', secret).update(last.body).digest('hex')}`;
    expect(last.headers['x-stockwatch-signature']).toBe(expected);
    expect(last.headers['content-type']).toBe('application/json');
    const body = JSON.parse(last.body);
    expect(last.headers['idempotency-key']).toBe(body.delivery_id);
    expect(requests[0]!.headers['idempotency-key']).toBe(body.delivery_id);
    expect(body.alert).toMatchObject({
      notification_id: rule.id,
      symbol: 'HOOK',
      condition: 'below',
      threshold: 10,
      price: 9.5,
      price_at: START.replace('Z', '.000Z'),
    });
    const alert = (await t.runtime.services.alerts.list({ id: userId }, { limit: 5 })).data[0]!;
    expect(alert.deliveries[0]).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('refuses private and loopback addresses unless WEBHOOK_ALLOW_PRIVATE is set', async () => {
    const strict = await createTestApp('pglite');
    try {
      const owner = await insertUser(strict.runtime, 'strict@example.com');
      for (const bad of [
        'http://127.0.0.1:9/x',
        'http://localhost/x',
        'http://10.1.2.3/x',
        'http://[::1]/x',
        'http://169.254.169.254/latest',
      ]) {
        await expect(
          strict.runtime.services.notifications.create({ id: owner.id }, {
            symbol: 'PRIV',
            condition: 'above',
            threshold: 1,
            channels: [{ type: 'webhook', url: bad }],
          } as never),
          bad,
        ).rejects.toMatchObject({ status: 422 });
      }
    } finally {
      await strict.close();
    }
  });
});

describe('the built-in mailbox', () => {
  it('keeps the email when neither SMTP nor SES is configured', async () => {
    const clock = manualClock(START);
    const t = await createTestApp('pglite', { clock });
    try {
      const owner = await insertUser(t.runtime, 'box@example.com');
      await t.runtime.services.notifications.create({ id: owner.id }, {
        symbol: 'BOX',
        condition: 'price > 1',
        threshold: 1,
      } as never);
      await t.runtime.services.prices.ingest({
        symbol: 'BOX',
        timestamp: clock.now().toISOString(),
        price: 2,
        volume: 1,
      });
      expect(await t.runtime.makeNotifier('box').runOnce()).toBe(1);
      const box = await t.runtime.services.alerts.mailbox({ id: owner.id });
      expect(box.enabled).toBe(true);
      expect(box.data).toHaveLength(1);
      expect(box.data[0]).toMatchObject({ to: 'box@example.com', subject: 'BOX > 1: now 2' });
      expect(box.data[0]!.html).toContain('<h2');
    } finally {
      await t.close();
    }
  });
});

describe('delivery through Amazon SES v2', () => {
  it('sends the raw message through the real AWS SDK to the configured endpoint', async () => {
    const calls: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const ses = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        calls.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ MessageId: 'ses-1' }));
      });
    });
    await new Promise<void>((resolve) => ses.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(ses.address() as { port: number }).port}`;
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, key: process.env.AWS_SECRET_ACCESS_KEY };
    // The SDK reads credentials from the usual AWS variables, as it would in production.
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    const clock = manualClock(START);
    const t = await createTestApp('pglite', {
      clock,
      env: {
        EMAIL_TRANSPORT: 'ses',
        AWS_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL_SESV2: endpoint,
        EMAIL_FROM: 'alerts@example.com',
      },
    });
    try {
      const owner = await insertUser(t.runtime, 'ses@example.com');
      await t.runtime.services.notifications.create({ id: owner.id }, {
        symbol: 'SES',
        condition: 'above',
        threshold: 1,
      } as never);
      await t.runtime.services.prices.ingest({
        symbol: 'SES',
        timestamp: clock.now().toISOString(),
        price: 3,
        volume: 1,
      });
      expect(await t.runtime.makeNotifier('ses').runOnce()).toBe(1);
      expect(calls).toHaveLength(1);
      const call = calls[0]!;
      expect(call.method).toBe('POST');
      expect(call.url).toBe('/v2/email/outbound-emails');
      expect(call.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request/,
      );
      const body = JSON.parse(call.body);
      const raw = Buffer.from(body.Content.Raw.Data, 'base64').toString('utf8');
      expect(raw).toMatch(/^To: ses <ses@example.com>/m);
      expect(raw).toMatch(/^Subject: SES > 1: now 3/m);
      expect(raw).toMatch(/^From: alerts@example.com/m);
      const alert = (await t.runtime.services.alerts.list({ id: owner.id }, { limit: 5 })).data[0]!;
      expect(alert.deliveries[0]!.status).toBe('sent');
    } finally {
      await t.close();
      ses.close();
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.key;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.key === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});

describe('the wake-up after commit', () => {
  it('delivers at once through the bus, without waiting for a sweep', async () => {
    const smtp = await startSmtpServer();
    // A sweep once an hour: only the wake-up published after the ingest commit can explain a delivery.
    const t = await createTestApp('pglite', { env: { SMTP_URL: smtp.url, NOTIFIER_SWEEP_INTERVAL: '1h' } });
    const notifier = t.runtime.makeNotifier('wake');
    try {
      const owner = await insertUser(t.runtime, 'wake@example.com');
      await t.runtime.services.notifications.create({ id: owner.id }, {
        symbol: 'WAKE',
        condition: 'above',
        threshold: 1,
      } as never);
      notifier.start();
      // start() runs one cycle at once; let it find nothing before the alert exists.
      await new Promise((r) => setTimeout(r, 300));
      await t.runtime.services.prices.ingest({
        symbol: 'WAKE',
        timestamp: new Date().toISOString(),
        price: 2,
        volume: 1,
      });
      const [mail] = await smtp.waitFor(1, 5000);
      expect(mail!.to).toEqual(['wake@example.com']);
    } finally {
      await notifier.stop();
      await t.close();
      await smtp.close();
    }
  });
});
