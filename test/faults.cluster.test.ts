import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cluster, type ClusterProcess, startCluster } from '../scripts/cluster.ts';
import { type FixtureServer, startFixtureServer } from './fixtures-server.ts';
import { startPrivatePostgres } from './helpers/private-postgres.ts';
import { eventually, startPrivateRedis } from './helpers/process.ts';
import { startSmtpServer } from './helpers/smtp.ts';
import { cookiesOf } from './helpers/users.ts';

/**
 * Fault injection on the distributed shape (scripts/cluster.ts): two servers behind Caddy, two
 * notifiers, two clients on a fake Alpha Vantage, a private PostgreSQL, a private Redis and a real SMTP
 * server. A driver ingests prices through Caddy that fire a known number of alerts while, one at a time,
 * a server is killed, a notifier is killed mid-send, Redis is killed, PostgreSQL and the SMTP server go
 * down, and a client is killed; each comes back. At the end every alert must have been delivered, none
 * lost, duplicates within the documented bound (one per delivery, only when a send was cut short), and
 * every price the clients fetched stored exactly once.
 *
 * FAULTS_SIZE=small (default, CI) or large (the run behind docs/RELIABILITY.md); FAULTS_REPORT=<file>
 * writes the figures as JSON.
 */

const LARGE = process.env.FAULTS_SIZE === 'large';
const SIZE = LARGE
  ? { alertSymbols: 5, tickMs: 250, outageMs: 8000, ticksAfter: 20, rounds: 2 }
  : { alertSymbols: 3, tickMs: 400, outageMs: 2500, ticksAfter: 3, rounds: 1 };
const ALERT_SYMBOLS = Array.from(
  { length: SIZE.alertSymbols },
  (_, i) => `FLT${String.fromCharCode(65 + i)}`,
);
const CLIENT_SYMBOLS = ['IBM', 'MSFT', 'AAPL', 'NVDA'];
const THRESHOLD = 100;
/** Bars the fake provider answers with: the newest of a series that grows by one minute per call. */
const WINDOW = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A fake Alpha Vantage: each TIME_SERIES_INTRADAY call for a symbol adds a minute to its series and
 * answers the newest WINDOW bars, so a bar once served keeps being served for a while (a client killed
 * before spooling it does not lose it for good). Records every bar it served.
 */
function growingSeries() {
  const length = new Map<string, number>();
  const served = new Map<string, Map<string, number>>();
  let frozen = false;
  // 09:30 New York (EDT, UTC-4) on 10 March 2025.
  const start = Date.UTC(2025, 2, 10, 13, 30);
  const handler = (url: URL) => {
    const symbol = url.searchParams.get('symbol') ?? '?';
    const n = (length.get(symbol) ?? 0) + (frozen ? 0 : 1);
    length.set(symbol, n);
    const bars = served.get(symbol) ?? new Map<string, number>();
    served.set(symbol, bars);
    const series: Record<string, Record<string, string>> = {};
    for (let m = Math.max(0, n - WINDOW); m < n; m++) {
      const at = start + m * 60_000;
      const local = new Date(at - 4 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
      const close = 200 + (CLIENT_SYMBOLS.indexOf(symbol) + 1) * 10 + m / 100;
      bars.set(new Date(at).toISOString(), close);
      series[local] = {
        '1. open': String(close),
        '2. high': String(close + 0.5),
        '3. low': String(close - 0.5),
        '4. close': String(close),
        '5. volume': String(1000 + m),
      };
    }
    return {
      json: {
        'Meta Data': { '2. Symbol': symbol, '4. Interval': '1min', '6. Time Zone': 'US/Eastern' },
        'Time Series (1min)': series,
      },
    };
  };
  return {
    handler,
    served,
    freeze: () => {
      frozen = true;
    },
  };
}

interface Tick {
  index: number;
  startedAt: number;
  ackedAt: number;
}

interface FaultRecord {
  fault: string;
  at: number;
  restoredAt: number;
  /** When the phase ended: enough ticks acknowledged after the restore. */
  endedAt: number;
  /** From the fault to the first acknowledged ingest of a tick begun after it. */
  ingestRecoveryMs?: number;
  /** The longest stretch of the phase without an acknowledged ingest. */
  ingestStallMs?: number;
  /** Ingest attempts that failed during the phase (and were sent again), by status (0: no answer). */
  failedIngests?: Record<string, number>;
  /** From the fault to the first email of an alert fired after it. */
  deliveryRecoveryMs?: number;
  /** Client kill: from the kill until every symbol had new prices stored. */
  pricesRecoveryMs?: number;
  note?: string;
}

describe('the distributed shape under faults (2 servers behind Caddy, 2 notifiers, 2 clients)', () => {
  let postgres: Awaited<ReturnType<typeof startPrivatePostgres>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let smtpPort: number;
  let fixtures: FixtureServer;
  let cluster: Cluster;
  /** A pool: its connections die with PostgreSQL's restart and are made again. */
  let db: pg.Pool;
  /** One user per alert symbol: a notifier puts a user's due alerts in one message, so this keeps them few. */
  const users: Array<{ symbol: string; id: string; cookie: string }> = [];
  const series = growingSeries();

  /** Every email received by any incarnation of the SMTP server, with when it arrived. */
  const mails: Array<{ at: number; messageId: string; decoded: string }> = [];
  let seen = 0;
  const collectMail = () => {
    for (const m of smtp.received.slice(seen))
      mails.push({ at: Date.now(), messageId: m.messageId, decoded: m.decoded });
    seen = smtp.received.length;
  };
  let mailPoller: NodeJS.Timeout | undefined;

  const ticks: Tick[] = [];
  const failures: Array<{ at: number; status: number }> = [];
  const faults: FaultRecord[] = [];
  let firing = false;
  let loop: Promise<void> | undefined;
  const startedAt = Date.now();

  const startSmtp = (port = 0) => startSmtpServer(port, { closeTimeoutMs: 20 });

  beforeAll(async () => {
    [postgres, redis, smtp, fixtures] = await Promise.all([
      startPrivatePostgres(),
      startPrivateRedis(),
      startSmtp(),
      startFixtureServer(series.handler),
    ]);
    smtpPort = smtp.port;
    mailPoller = setInterval(collectMail, 50);
    cluster = await startCluster({
      servers: 2,
      notifiers: 2,
      clients: 2,
      databaseUrl: postgres.url,
      redisUrl: redis.url,
      smtpUrl: smtp.url,
      alphaVantageUrl: fixtures.origin,
      symbols: CLIENT_SYMBOLS,
      env: {
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_MINUTE: '1000000',
        AUTH_RATE_LIMIT_PER_MINUTE: '1000',
        // The fake provider's bars are from 2025: keep them as minute bars.
        RETENTION_DAYS: '0',
      },
      roleEnv: {
        notifier: {
          DELIVERY_LEASE: '5s',
          NOTIFIER_SWEEP_INTERVAL: '500ms',
          // The third attempt comes at least 1.5 backoffs after the first: after an SMTP outage.
          DELIVERY_RETRY_BACKOFF: `${SIZE.outageMs}ms`,
        },
        client: {
          ALPHAVANTAGE_CALLS_PER_MINUTE: '60',
          ALPHAVANTAGE_CALLS_PER_DAY: 'unlimited',
          MARKET_HOURS: 'always',
        },
      },
    });
    db = new pg.Pool({ connectionString: postgres.url, max: 2 });
    db.on('error', () => {});

    // Each symbol exists below the threshold; every tick then fires one alert per symbol (cooldown 0).
    expect((await ingest(ALERT_SYMBOLS.map((symbol) => price(symbol, Date.now() - 1000, 50)))).status).toBe(
      201,
    );
    for (const symbol of ALERT_SYMBOLS) {
      const signUp = await fetch(`${cluster.url}/auth/sign-up/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: cluster.url },
        body: JSON.stringify({ email: `${symbol.toLowerCase()}@example.com`, password: 'faults-password-1' }),
      });
      expect(signUp.status).toBe(200);
      const user = {
        symbol,
        id: ((await signUp.json()) as { user: { id: string } }).user.id,
        cookie: cookiesOf(signUp.headers.getSetCookie()),
      };
      users.push(user);
      // No grouping window: alerts go out as they come. (404: a build whose notifier does not group.)
      const grouping = await api(user, 'PUT', '/settings/notifications', {
        group_window_seconds: 0,
        quiet_hours: null,
      });
      expect([200, 404]).toContain(grouping.status);
      const res = await api(user, 'POST', '/notifications', {
        symbol,
        condition: `price > ${THRESHOLD}`,
        threshold: THRESHOLD,
        cooldown_minutes: 0,
      });
      expect(res.status).toBe(201);
    }
  }, 300_000);

  afterAll(async () => {
    firing = false;
    await loop;
    clearInterval(mailPoller);
    await cluster?.stop();
    await db?.end().catch(() => {});
    await fixtures?.close();
    await smtp?.close();
    await redis?.stop().catch(() => {});
    await postgres?.dispose();
  }, 120_000);

  function price(symbol: string, at: number, value: number) {
    return { symbol, timestamp: new Date(at).toISOString(), price: value, volume: 1 };
  }

  function ingest(body: unknown) {
    return fetch(`${cluster.url}/stocks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.ingestToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  }

  function api(user: { cookie: string }, method: string, path: string, body?: unknown) {
    return fetch(`${cluster.url}${path}`, {
      method,
      headers: {
        cookie: user.cookie,
        origin: cluster.url,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  }

  /**
   * One price per alert symbol per tick, all above the threshold, at a new instant: each tick fires
   * exactly one alert per symbol. A failed post is sent again, unchanged, until it is acknowledged —
   * a price already stored is a harmless duplicate, so the count stays exact.
   */
  async function fire() {
    let last = 0;
    while (firing) {
      const index = ticks.length;
      const at = Math.max(Date.now(), last + 1);
      last = at;
      const body = ALERT_SYMBOLS.map((symbol) => price(symbol, at, THRESHOLD + 1 + index));
      const began = Date.now();
      for (;;) {
        const status = await ingest(body).then(
          async (r) => {
            await r.body?.cancel();
            return r.status;
          },
          () => 0,
        );
        if (status === 201) break;
        failures.push({ at: Date.now(), status });
        await sleep(200);
      }
      ticks.push({ index, startedAt: began, ackedAt: Date.now() });
      await sleep(SIZE.tickMs);
    }
  }

  const ticksAfter = async (count: number) => {
    const target = ticks.length + count;
    await eventually(() => ticks.length >= target, 120_000);
  };

  async function fault(
    name: string,
    inject: () => Promise<void>,
    restore: () => Promise<void>,
    note?: string,
  ) {
    const at = Date.now();
    await inject();
    await sleep(SIZE.outageMs);
    await restore();
    const restoredAt = Date.now();
    await ticksAfter(SIZE.ticksAfter);
    faults.push({ fault: name, at, restoredAt, endedAt: Date.now(), ...(note && { note }) });
  }

  interface ClientReport {
    client_id: string;
    reported_at: string;
    sharing?: { member_id: string; members: string[] };
    symbols: Array<{ symbol: string }>;
  }

  /** The last reports (GET /client-status) of these clients, found by the id in their state file. */
  async function clientReports(clients: ClusterProcess[]): Promise<ClientReport[]> {
    const ids = clients.map((c) => {
      try {
        return (
          JSON.parse(readFileSync(path.join(c.dataDir, 'client', 'state.json'), 'utf8')) as {
            clientId: string;
          }
        ).clientId;
      } catch {
        return undefined;
      }
    });
    const res = await api(users[0]!, 'GET', '/client-status');
    if (res.status !== 200) return [];
    const { clients: reports } = (await res.json()) as { clients: ClientReport[] };
    return ids.flatMap((id) => reports.filter((r) => r.client_id === id));
  }

  async function clientRowCounts(): Promise<Map<string, number>> {
    const { rows } = await db.query<{ symbol: string; n: number }>(
      'SELECT symbol, count(*)::int AS n FROM prices WHERE symbol = ANY($1) GROUP BY symbol',
      [CLIENT_SYMBOLS],
    );
    return new Map(rows.map((r) => [r.symbol, r.n]));
  }

  it('keeps taking prices and firing alerts while a server, a notifier, Redis, PostgreSQL, the SMTP server and a client fail one at a time', async () => {
    firing = true;
    loop = fire();
    await ticksAfter(SIZE.ticksAfter);

    for (let round = 1; round <= SIZE.rounds; round++) {
      const server = cluster.servers[round % 2]!;
      await fault(
        `server (SIGKILL ${server.name}, restarted)`,
        async () => void (await server.kill('SIGKILL')),
        () => server.start(),
      );

      // Sends in flight on the notifier to be killed: the other one is paused (SIGSTOP), so that only
      // this one claims, and the SMTP server holds its answers; then SIGKILL, and the held messages are
      // accepted although their sender never hears so. Their leases expire and they go out again.
      const notifier = cluster.notifiers[round % 2]!;
      const other = cluster.notifiers[(round + 1) % 2]!;
      process.kill(other.pid()!, 'SIGSTOP');
      smtp.holdReplies(true);
      let inFlight = 0;
      try {
        await eventually(() => smtp.heldCount() >= 1, 60_000);
      } finally {
        process.kill(other.pid()!, 'SIGCONT');
      }
      await fault(
        `notifier (SIGKILL ${notifier.name} mid-send, restarted)`,
        async () => {
          expect(await notifier.kill('SIGKILL')).toBe('SIGKILL');
          inFlight = smtp.heldCount();
          smtp.release();
        },
        () => notifier.start(),
      );
      faults.at(-1)!.note = `${inFlight} message(s) in flight when killed`;

      await fault(
        'Redis (SIGKILL, restarted empty)',
        () => redis.stop(),
        () => redis.restart(),
      );
      await fault(
        'PostgreSQL (stopped, started again)',
        () => postgres.stop(),
        () => postgres.start(),
      );
      await fault(
        'SMTP server (closed, connections cut, started again on its port)',
        async () => {
          collectMail();
          await smtp.close();
        },
        async () => {
          smtp = await startSmtp(smtpPort);
          seen = 0;
        },
      );

      // Two clients share the symbols; with one killed, the other takes its symbols over and every
      // symbol's prices keep arriving.
      const client = cluster.clients[round % 2]!;
      const survivor = cluster.clients[(round + 1) % 2]!;
      const split = await eventually(async () => {
        const live = await clientReports([client, survivor]);
        if (live.length < 2) return false;
        // A build whose clients do not share (no `sharing` in their reports): both fetch everything.
        if (live.some((r) => !r.sharing)) return 'not shared';
        const owned = live.map((r) => r.symbols.map((x) => x.symbol));
        return live.every((r) => r.sharing!.members.length === 2) &&
          owned.flat().length === CLIENT_SYMBOLS.length &&
          new Set(owned.flat()).size === CLIENT_SYMBOLS.length
          ? 'split'
          : false;
      }, 60_000);
      const before = await clientRowCounts();
      const at = Date.now();
      expect(await client.kill('SIGKILL')).toBe('SIGKILL');
      let takeoverMs: number | undefined;
      if (split === 'split') {
        await eventually(async () => {
          const [r] = await clientReports([survivor]);
          return (
            r !== undefined &&
            Date.parse(r.reported_at) > at &&
            r.sharing?.members.length === 1 &&
            r.symbols.length === CLIENT_SYMBOLS.length
          );
        }, 120_000);
        takeoverMs = Date.now() - at;
      }
      await eventually(async () => {
        const now = await clientRowCounts();
        return CLIENT_SYMBOLS.every((s) => (now.get(s) ?? 0) > (before.get(s) ?? 0));
      }, 120_000);
      const pricesRecoveryMs = Date.now() - at;
      await client.start();
      faults.push({
        fault: `client (SIGKILL ${client.name}, restarted)`,
        at,
        restoredAt: Date.now(),
        endedAt: Date.now(),
        pricesRecoveryMs,
        note:
          split === 'split'
            ? `symbols split 2/2 before; ${survivor.name} reported all ${CLIENT_SYMBOLS.length} after ${takeoverMs} ms`
            : 'clients did not report sharing: both fetched every symbol',
      });
      await ticksAfter(SIZE.ticksAfter);
    }
    firing = false;
    await loop;
    expect(ticks.length).toBeGreaterThan(0);
  }, 1_200_000);

  it('delivered every alert fired, none lost, with at most one duplicate per delivery and only for a send cut short', async () => {
    const expected = ticks.length * ALERT_SYMBOLS.length;
    // The alerts table is the outbox: exactly one alert per acknowledged price above the threshold.
    const { rows: counts } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM alerts WHERE user_id = ANY($1)',
      [users.map((u) => u.id)],
    );
    expect(counts[0]!.n).toBe(expected);

    await eventually(async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE user_id = ANY($1) AND status <> 'sent'`,
        [users.map((u) => u.id)],
      );
      return rows[0]!.n === 0;
    }, 180_000);
    collectMail();

    // What each user sees: their alerts, each delivery sent.
    const listed: Array<{
      id: string;
      symbol: string;
      price: number;
      deliveries: Array<{ status: string }>;
    }> = [];
    for (const user of users) {
      let cursor: string | null = null;
      do {
        const res = await api(
          user,
          'GET',
          `/alerts?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(res.status).toBe(200);
        const page = (await res.json()) as { data: typeof listed; next_cursor: string | null };
        expect(page.data.every((a) => a.symbol === user.symbol)).toBe(true);
        listed.push(...page.data);
        cursor = page.next_cursor;
      } while (cursor);
    }
    expect(listed).toHaveLength(expected);
    expect(listed.flatMap((a) => a.deliveries).every((d) => d.status === 'sent')).toBe(true);

    // Every alert is in an email (one alert each, or several listed in a grouped one); count copies.
    const copies = new Map<string, number>();
    for (const mail of mails)
      for (const [, symbol, value] of mail.decoded.matchAll(/\b([A-Z0-9.-]+) is at ([\d,.]+) \(/g)) {
        const key = `${symbol} ${Number(value!.replaceAll(',', ''))}`;
        copies.set(key, (copies.get(key) ?? 0) + 1);
      }
    const keys = listed.map((a) => `${a.symbol} ${a.price}`);
    const lost = keys.filter((k) => !copies.has(k));
    expect(lost).toEqual([]);
    const duplicated = keys.filter((k) => copies.get(k)! > 1);
    for (const k of duplicated) expect(copies.get(k)).toBe(2);
    // A duplicate only ever comes from an attempt that did not record its outcome: a second attempt.
    const { rows: attempts } = await db.query<{ symbol: string; price: number; attempts: number }>(
      `SELECT a.symbol, a.price, d.attempts FROM alerts a JOIN deliveries d ON d.alert_id = a.id
        WHERE a.user_id = ANY($1)`,
      [users.map((u) => u.id)],
    );
    const attemptsOf = new Map(attempts.map((r) => [`${r.symbol} ${r.price}`, r.attempts]));
    for (const k of duplicated) expect(attemptsOf.get(k)).toBeGreaterThanOrEqual(2);

    // Figures for docs/RELIABILITY.md.
    const { rows: fired } = await db.query<{ symbol: string; price: number; fired_at: Date }>(
      'SELECT symbol, price, fired_at FROM alerts WHERE user_id = ANY($1)',
      [users.map((u) => u.id)],
    );
    const firedAt = new Map(fired.map((r) => [`${r.symbol} ${r.price}`, r.fired_at.getTime()]));
    const mailTimes = mails.flatMap((m) =>
      [...m.decoded.matchAll(/\b([A-Z0-9.-]+) is at ([\d,.]+) \(/g)].map(([, s, v]) => ({
        at: m.at,
        firedAt: firedAt.get(`${s} ${Number(v!.replaceAll(',', ''))}`) ?? 0,
      })),
    );
    for (const f of faults) {
      const tick = ticks.find((t) => t.startedAt >= f.at);
      if (tick) f.ingestRecoveryMs = tick.ackedAt - f.at;
      const acks = [
        f.at,
        ...ticks.filter((t) => t.ackedAt > f.at && t.ackedAt <= f.endedAt).map((t) => t.ackedAt),
      ];
      f.ingestStallMs = Math.max(0, ...acks.slice(1).map((t, i) => t - acks[i]!));
      f.failedIngests = {};
      for (const x of failures.filter((x) => x.at >= f.at && x.at <= f.endedAt))
        f.failedIngests[x.status] = (f.failedIngests[x.status] ?? 0) + 1;
      const first = mailTimes.filter((m) => m.firedAt >= f.at).sort((a, b) => a.at - b.at)[0];
      if (first) f.deliveryRecoveryMs = first.at - f.at;
    }
    const report = {
      size: LARGE ? 'large' : 'small',
      durationS: Math.round((Date.now() - startedAt) / 1000),
      ticks: ticks.length,
      alertsFired: expected,
      emailsReceived: mails.length,
      faultsInjected: faults.length,
      lost: lost.length,
      duplicated: duplicated.length,
      deliveriesWithRetries: attempts.filter((r) => r.attempts > 1).length,
      faults,
    };
    console.log(JSON.stringify(report, null, 2));
    if (process.env.FAULTS_REPORT)
      writeFileSync(process.env.FAULTS_REPORT, `${JSON.stringify(report, null, 2)}\n`);
  }, 240_000);

  it('stored every price the clients fetched exactly once', async () => {
    // From here on the provider repeats itself, so what it served is final once the spools drain.
    series.freeze();
    const expected = [...series.served]
      .flatMap(([symbol, bars]) => [...bars].map(([ts, close]) => ({ symbol, ts, price: close })))
      .sort((a, b) => (a.symbol + a.ts < b.symbol + b.ts ? -1 : 1));
    expect(new Set(expected.map((e) => e.symbol))).toEqual(new Set(CLIENT_SYMBOLS));
    const stored = async () =>
      (
        await db.query<{ symbol: string; ts: string; price: number }>(
          `SELECT symbol, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts, price
             FROM prices WHERE symbol = ANY($1) ORDER BY symbol, ts`,
          [CLIENT_SYMBOLS],
        )
      ).rows;
    await eventually(async () => (await stored()).length >= expected.length, 120_000);
    expect(await stored()).toEqual(expected);
  }, 180_000);
});
