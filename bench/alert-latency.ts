/**
 * Alert latency and burst throughput, end to end through real processes:
 *  - latency: time from sending a qualifying `POST /stocks` to the SMTP server (smtp-server, in this
 *    process) accepting the email, p50 and p99, in embedded mode (`stockwatch all`, PGlite, in-process
 *    bus) and distributed (`stockwatch server` + a separate `stockwatch notifier`, PostgreSQL + Redis);
 *    target p99 < 1 s. The baseline is the bare `POST /stocks` round trip measured in the same run.
 *  - burst: 10,000 alerts firing from one price (distributed), until the last email is accepted.
 *
 *   npx tsx bench/alert-latency.ts [--samples=100] [--burst=10000]
 */
import { spawn } from 'node:child_process';
import { SMTPServer } from 'smtp-server';
import {
  BIN,
  createDatabase,
  defer,
  fmt,
  INGEST_TOKEN,
  numberFlag,
  percentile,
  printResults,
  type ResultRow,
  runBench,
  serverEnv,
  sleep,
  startServer,
  tempDir,
  warmPool,
} from './lib.ts';

const SAMPLES = numberFlag('samples', 'BENCH_SAMPLES', 100);
const BURST = numberFlag('burst', 'BENCH_BURST', 10_000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The SMTP server: records when each message (by subject) was accepted. */
async function startSmtp() {
  const accepted = new Map<string, number>();
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        const subject = /^Subject: (.*)$/m.exec(raw)?.[1] ?? '';
        accepted.set(subject, performance.now());
        count++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.server.address() as { port: number };
  return { url: `smtp://127.0.0.1:${port}`, accepted, count: () => count };
}

/** Signs up through the API and returns an API token for the account. */
async function apiToken(base: string): Promise<string> {
  const email = `bench-${Date.now()}@example.com`;
  const signUp = await fetch(`${base}/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ email, password: 'bench-password-1', name: 'Bench' }),
  });
  if (!signUp.ok) throw new Error(`sign-up: ${signUp.status} ${await signUp.text()}`);
  const cookie = (signUp.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).join('; ');
  const token = await fetch(`${base}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: base },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (token.status !== 201) throw new Error(`token: ${token.status} ${await token.text()}`);
  const created = ((await token.json()) as { token: string }).token;
  // One email per alert: with grouping (30 s by default) the alerts after the first would wait for
  // the window and arrive as one message, which is not what this measures.
  const settings = await fetch(`${base}/settings/notifications`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${created}` },
    body: JSON.stringify({ group_window_seconds: 0, quiet_hours: null }),
  });
  if (settings.status !== 200) throw new Error(`settings: ${settings.status} ${await settings.text()}`);
  return created;
}

const post = (base: string, body: unknown) =>
  fetch(`${base}/stocks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
    body: JSON.stringify(body),
  });

/** Sends SAMPLES qualifying prices one after another and times each until its email is accepted. */
async function measureLatency(base: string, smtp: Awaited<ReturnType<typeof startSmtp>>, symbol: string) {
  const token = await apiToken(base);
  const rule = await fetch(`${base}/notifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ symbol, condition: 'above', threshold: 1, cooldown_minutes: 0 }),
  });
  if (rule.status !== 201) throw new Error(`notification: ${rule.status} ${await rule.text()}`);
  const latencies: number[] = [];
  const roundTrips: number[] = [];
  for (let i = 0; i < SAMPLES + 5; i++) {
    const price = 100 + i; // the subject carries the price: that is how an email is matched to its post
    const sent = performance.now();
    const res = await post(base, { symbol, timestamp: new Date().toISOString(), price, volume: 1 });
    const answered = performance.now();
    if (res.status !== 201) throw new Error(`POST /stocks: ${res.status}`);
    const subject = `${symbol} > 1: now ${price}`;
    const deadline = sent + 10_000;
    while (!smtp.accepted.has(subject)) {
      if (performance.now() > deadline) throw new Error(`no email for ${subject} within 10 s`);
      await sleep(1);
    }
    if (i >= 5) {
      latencies.push(smtp.accepted.get(subject)! - sent);
      roundTrips.push(answered - sent);
    }
    await sleep(20);
  }
  return { latencies, roundTrips };
}

runBench('Alerts: latency to the SMTP server, and a burst of 10,000', 20 * 60_000, async () => {
  const smtp = await startSmtp();
  const rows: ResultRow[] = [];
  const report = (mode: string, r: { latencies: number[]; roundTrips: number[] }) => {
    const p50 = percentile(r.latencies, 50);
    const p99 = percentile(r.latencies, 99);
    console.log(`${mode}: p50 ${fmt.ms(p50)}, p99 ${fmt.ms(p99)} over ${r.latencies.length} alerts`);
    rows.push({
      metric: `POST /stocks → email accepted by SMTP, ${mode} (p50 / p99, ${r.latencies.length} alerts)`,
      measured: `${fmt.ms(p50)} / ${fmt.ms(p99)}`,
      baseline: `${fmt.ms(percentile(r.roundTrips, 50))} / ${fmt.ms(percentile(r.roundTrips, 99))} (POST /stocks answered)`,
      ratio: fmt.ratio(p99 / 1000),
      target: 'p99 < 1 s',
      met: p99 < 1000,
    });
  };

  // Embedded: everything in one process on PGlite.
  const embedded = await startServer({
    command: 'all',
    env: {
      LOG_LEVEL: 'warn',
      MARKET_DATA_PROVIDER: 'none',
      INGEST_TOKEN,
      SMTP_URL: smtp.url,
      RATE_LIMIT_PER_MINUTE: '1000000',
      INGEST_RATE_LIMIT_PER_MINUTE: '1000000',
    },
  });
  report('embedded (stockwatch all, PGlite)', await measureLatency(embedded.url, smtp, 'EMB'));
  await embedded.stop();

  // Distributed: server and notifier as separate processes on PostgreSQL and Redis.
  const db = await createDatabase('alerts');
  const env = {
    ...serverEnv(db.url),
    REDIS_URL,
    SMTP_URL: smtp.url,
    NOTIFICATIONS_PER_USER: String(BURST + 10),
  };
  const server = await startServer({ command: 'server', env });
  const notifierDir = tempDir('notifier');
  const notifier = spawn(process.execPath, [BIN, 'notifier'], {
    cwd: notifierDir,
    env: { PATH: process.env.PATH ?? '', HOME: notifierDir, DATA_DIR: notifierDir, ...env },
    stdio: 'ignore',
  });
  defer(() => {
    notifier.kill('SIGTERM');
  });
  await sleep(3000);
  report(
    'distributed (server + notifier, PostgreSQL + Redis)',
    await measureLatency(server.url, smtp, 'DIS'),
  );

  // Burst: BURST rules on one symbol, all true at the next price.
  const pool = await warmPool(db.url, 1);
  await pool.query(
    `INSERT INTO notifications (user_id, symbol, kind, threshold, channels)
     SELECT (SELECT id FROM "user" LIMIT 1), 'BURST', 'above', 1 + (g % 100) / 1000.0, '[{"type":"email"}]'::jsonb
     FROM generate_series(1, $1) g`,
    [BURST],
  );
  const before = smtp.count();
  const t0 = performance.now();
  const res = await post(server.url, {
    symbol: 'BURST',
    timestamp: new Date().toISOString(),
    price: 50,
    volume: 1,
  });
  const committed = performance.now() - t0;
  if (res.status !== 201) throw new Error(`burst POST: ${res.status}`);
  while (smtp.count() - before < BURST) {
    if (performance.now() - t0 > 10 * 60_000) throw new Error(`burst: only ${smtp.count() - before} emails`);
    await sleep(50);
  }
  const total = performance.now() - t0;
  console.log(
    `burst: ${BURST} alerts committed in ${fmt.ms(committed)}, all emails accepted after ${fmt.s(total)}`,
  );
  rows.push({
    metric: `${fmt.int(BURST)} alerts from one price: emails/s (1 notifier, SMTP on loopback)`,
    measured: `${fmt.int(BURST / (total / 1000))} /s (${fmt.s(total)} in all)`,
    baseline: `${fmt.ms(committed)} for the POST that fired them (claim + ${fmt.int(BURST)} alerts + deliveries)`,
    ratio: '',
    target: '',
  });
  printResults(rows);
});
