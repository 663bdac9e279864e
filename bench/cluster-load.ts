/**
 * The distributed shape under sustained load: 2 servers behind Caddy, 2 notifiers delivering to a real
 * SMTP server, a private Redis, this machine's PostgreSQL (scripts/cluster.ts). While 50 dashboards
 * hold live streams (GET /events, one signed-in user each) and the users' notifications keep the
 * notifiers busy, autocannon posts single prices, then 100-price batches, through Caddy. Reports
 * requests/s, p99 latency, alerts fired and delivered per second, live events received, and the
 * resident memory of every process. Baseline, same run: the same autocannon against one
 * `stockwatch server` on its own database, without Caddy, Redis, dashboards or notifications.
 *
 *   npx tsx bench/cluster-load.ts [--duration=30] [--connections=50] [--dashboards=50] [--batch=100]
 *   (BENCH_RULES=off: the users have no rules; BENCH_STREAMS=off: no live streams are opened)
 */
import http from 'node:http';
import autocannon from 'autocannon';
import pg from 'pg';
import { type Cluster, startCluster } from '../scripts/cluster.ts';
import { startPrivateRedis } from '../test/helpers/process.ts';
import { startSmtpServer } from '../test/helpers/smtp.ts';
import {
  cpuSeconds,
  createDatabase,
  defer,
  fmt,
  INGEST_TOKEN,
  numberFlag,
  postgresVersion,
  printResults,
  residentBytes,
  runBench,
  SYMBOLS,
  serverEnv,
  startServer,
} from './lib.ts';

const DURATION_S = numberFlag('duration', 'BENCH_DURATION', 30);
const WARMUP_S = numberFlag('warmup', 'BENCH_WARMUP', 10);
const CONNECTIONS = numberFlag('connections', 'BENCH_CONNECTIONS', 50);
const DASHBOARDS = numberFlag('dashboards', 'BENCH_DASHBOARDS', 50);
const BATCH = numberFlag('batch', 'BENCH_BATCH', 100);
/** To see what each costs: BENCH_RULES=off (users without rules), BENCH_STREAMS=off (no live streams). */
const RULES = process.env.BENCH_RULES !== 'off';
const STREAMS = process.env.BENCH_STREAMS !== 'off';
/** Each server and notifier keeps at most this many PostgreSQL connections (the machine's is shared). */
const POOL = '10';

// Fresh prices (so that they are evaluated and can fire): each symbol's timestamps follow the clock, one
// millisecond apart at least, so every (symbol, timestamp) is new and none is in the future by more than
// the little that the fastest symbol runs ahead. Prices run through a saw-tooth 100.0 … 109.9 per symbol:
// a `crosses_above 105` rule fires once per tooth, once every 100 prices of its symbol.
const last = new Map<string, number>();
let n = 0;
function nextPrice() {
  const i = n++;
  const symbol = SYMBOLS[i % SYMBOLS.length]!;
  const at = Math.max(Date.now(), (last.get(symbol) ?? 0) + 1);
  last.set(symbol, at);
  return {
    symbol,
    timestamp: new Date(at).toISOString(),
    price: 100 + (Math.floor(i / SYMBOLS.length) % 100) / 10,
    volume: 100 + (i % 900),
  };
}

interface Phase {
  label: string;
  requestsPerSecond: number;
  pricesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, token: string, kind: 'single' | 'batch', seconds: number): Promise<Phase> {
  const batch = kind === 'batch';
  const result = await autocannon({
    url,
    connections: batch ? Math.max(1, Math.round(CONNECTIONS / 5)) : CONNECTIONS,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/stocks',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify(batch ? Array.from({ length: BATCH }, nextPrice) : nextPrice()),
        }),
      },
    ],
  });
  const perSecond = result['2xx'] / result.duration;
  const failed = Object.entries(result.statusCodeStats).filter(([code]) => !code.startsWith('2'));
  if (failed.length > 0 || result.errors > 0)
    console.log(
      `  (${kind}: ${failed.map(([code, { count }]) => `${count} × ${code}`).join(', ') || 'no error status'}; ` +
        `${result.errors} connection errors, ${result.timeouts} timeouts)`,
    );
  return {
    label: batch ? `${BATCH}-price batches` : 'single prices',
    requestsPerSecond: perSecond,
    pricesPerSecond: perSecond * (batch ? BATCH : 1),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** A signed-in user through Caddy, with no grouping of alerts and one notification. */
async function user(cluster: Cluster, index: number) {
  const res = await fetch(`${cluster.url}/auth/sign-up/email`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: cluster.url },
    body: JSON.stringify({ email: `load-${index}@example.com`, password: `load-password-${index}` }),
  });
  if (res.status !== 200) throw new Error(`sign-up: ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const call = (method: string, path: string, body: unknown) =>
    fetch(`${cluster.url}${path}`, {
      method,
      headers: { cookie, origin: cluster.url, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  // One message per alert where the notifier groups them (404 where it does not).
  await call('PUT', '/settings/notifications', { group_window_seconds: 0, quiet_hours: null });
  if (!RULES) return cookie;
  const rule = await call('POST', '/notifications', {
    symbol: SYMBOLS[index % SYMBOLS.length],
    condition: 'crosses_above',
    threshold: 105,
    cooldown_minutes: 0,
  });
  if (rule.status !== 201) throw new Error(`notification: ${rule.status} ${await rule.text()}`);
  return cookie;
}

/** A dashboard's live stream, open once the server answered; counts the events it receives. */
function dashboard(url: string, cookie: string, counter: { events: number; open: number }) {
  return new Promise<() => void>((resolve, reject) => {
    const request = http.get(`${url}/events`, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /events answered ${res.statusCode}`));
        return;
      }
      counter.open++;
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const text = rest + chunk;
        const end = text.lastIndexOf('\n') + 1;
        counter.events += text.slice(0, end).match(/^event: /gm)?.length ?? 0;
        rest = text.slice(end);
      });
      res.on('close', () => counter.open--);
      resolve(() => request.destroy());
    });
    request.on('error', reject);
  });
}

async function counts(db: pg.Pool, from: Date, to: Date) {
  const { rows } = await db.query<{ fired: number; sent: number }>(
    `SELECT (SELECT count(*)::int FROM alerts WHERE fired_at >= $1 AND fired_at < $2) AS fired,
            (SELECT count(*)::int FROM deliveries WHERE status = 'sent' AND sent_at >= $1 AND sent_at < $2) AS sent`,
    [from, to],
  );
  return rows[0]!;
}

runBench(
  'Distributed load run: 2 servers behind Caddy, 2 notifiers, live dashboards',
  20 * 60_000,
  async () => {
    // ---- baseline: one server, no Caddy, no Redis, nothing listening or firing
    const baseDb = await createDatabase('cluster_base');
    console.log(
      `PostgreSQL ${await postgresVersion(baseDb.url)} on 127.0.0.1 (pool ${POOL} per process); ` +
        `${WARMUP_S} s warm-up, then ${DURATION_S} s single prices and ${DURATION_S} s of ${BATCH}-price batches`,
    );
    const single = await startServer({
      command: 'server',
      env: { ...serverEnv(baseDb.url), DATABASE_POOL_SIZE: POOL },
    });
    await load(single.url, INGEST_TOKEN, 'single', WARMUP_S);
    const baseSingle = await load(single.url, INGEST_TOKEN, 'single', DURATION_S);
    const baseBatch = await load(single.url, INGEST_TOKEN, 'batch', DURATION_S);
    const baseRss = residentBytes(single.pid);
    console.log(
      `baseline: ${fmt.int(baseSingle.requestsPerSecond)} req/s single (p99 ${fmt.ms(baseSingle.p99)}), ` +
        `${fmt.int(baseBatch.pricesPerSecond)} prices/s in batches (p99 ${fmt.ms(baseBatch.p99)}); RSS ${fmt.mb(baseRss)}`,
    );
    await single.stop();

    // ---- the cluster
    const db = await createDatabase('cluster');
    const redis = await startPrivateRedis();
    defer(() => redis.stop());
    const smtp = await startSmtpServer();
    defer(() => smtp.close());
    const cluster = await startCluster({
      servers: 2,
      notifiers: 2,
      clients: 0,
      databaseUrl: db.url,
      redisUrl: redis.url,
      smtpUrl: smtp.url,
      ingestToken: INGEST_TOKEN,
      env: {
        LOG_LEVEL: 'warn',
        DATABASE_POOL_SIZE: POOL,
        RATE_LIMIT_PER_MINUTE: '1000000',
        AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
        INGEST_RATE_LIMIT_PER_MINUTE: '10000000',
      },
    });
    defer(async () => {
      await cluster.stop();
    });
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    defer(() => pool.end());

    // Every symbol exists (a rule needs it), below the threshold, before the load starts.
    const first = await fetch(`${cluster.url}/stocks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
      body: JSON.stringify(
        SYMBOLS.map((symbol) => ({
          symbol,
          timestamp: new Date(Date.now() - 60_000).toISOString(),
          price: 100,
          volume: 1,
        })),
      ),
    });
    if (first.status !== 201) throw new Error(`first prices: ${first.status} ${await first.text()}`);
    const stream = { events: 0, open: 0 };
    for (let i = 0; i < DASHBOARDS; i++) {
      const cookie = await user(cluster, i);
      if (STREAMS) defer(await dashboard(cluster.url, cookie, stream));
    }
    console.log(
      `${DASHBOARDS} users signed up, ${RULES ? 'each with a crosses_above rule' : 'without rules'}, ` +
        `${STREAMS ? 'each with a live stream open' : 'no live stream open'}`,
    );

    const processes = cluster.all();
    const peak = new Map<string, number>();
    const sampler = setInterval(() => {
      for (const p of processes) peak.set(p.name, Math.max(peak.get(p.name) ?? 0, p.rssBytes() ?? 0));
    }, 1000);
    defer(() => clearInterval(sampler));
    const cpu = (p: (typeof processes)[number]) => (p.pid() ? cpuSeconds(p.pid()!) : 0);

    await load(cluster.url, INGEST_TOKEN, 'single', WARMUP_S);
    const phases: Array<{ phase: Phase; fired: number; sent: number; events: number; seconds: number }> = [];
    const cpuBefore = new Map(processes.map((p) => [p.name, cpu(p)]));
    const benchCpu = process.cpuUsage();
    const t0 = performance.now();
    for (const kind of ['single', 'batch'] as const) {
      const from = new Date();
      const events = stream.events;
      const phase = await load(cluster.url, INGEST_TOKEN, kind, DURATION_S);
      const to = new Date();
      const seconds = (to.getTime() - from.getTime()) / 1000;
      const c = await counts(pool, from, to);
      phases.push({ phase, ...c, events: stream.events - events, seconds });
      console.log(
        `${phase.label}: ${fmt.int(phase.requestsPerSecond)} req/s = ${fmt.int(phase.pricesPerSecond)} prices/s, ` +
          `p50 ${fmt.ms(phase.p50)}, p99 ${fmt.ms(phase.p99)}, errors ${phase.errors}; ` +
          `alerts fired ${fmt.int(c.fired / seconds)}/s, delivered ${fmt.int(c.sent / seconds)}/s; ` +
          `live events received ${fmt.int((stream.events - events) / seconds)}/s by ${stream.open} dashboards`,
      );
    }
    const busySeconds = (performance.now() - t0) / 1000;
    const benchUsed = process.cpuUsage(benchCpu);
    clearInterval(sampler);
    const { rows } = await pool.query<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM deliveries WHERE status = 'pending'`,
    );
    console.log(
      `deliveries still pending at the end: ${fmt.int(rows[0]!.pending)}; emails received ${fmt.int(smtp.received.length)}`,
    );

    console.log('\n| process | RSS at the end | peak RSS (sampled) | CPU while loaded (share of a core) |');
    console.log('| --- | --- | --- | --- |');
    for (const p of processes)
      console.log(
        `| ${p.name} | ${fmt.mb(p.rssBytes() ?? 0)} | ${fmt.mb(peak.get(p.name) ?? 0)} | ${fmt.pct((cpu(p) - cpuBefore.get(p.name)!) / busySeconds)} |`,
      );
    console.log(
      `| this bench (autocannon, ${DASHBOARDS} streams, SMTP server) | ${fmt.mb(process.memoryUsage.rss())} | | ${fmt.pct((benchUsed.user + benchUsed.system) / 1e6 / busySeconds)} |`,
    );
    console.log(`| baseline server (alone) | ${fmt.mb(baseRss)} | | |`);

    const [s, b] = phases as [(typeof phases)[0], (typeof phases)[0]];
    printResults([
      {
        metric: `single-price POST /stocks through Caddy, ${CONNECTIONS} connections, ${DURATION_S} s`,
        measured: `${fmt.int(s.phase.requestsPerSecond)} /s; p99 ${fmt.ms(s.phase.p99)}`,
        baseline: `${fmt.int(baseSingle.requestsPerSecond)} /s; p99 ${fmt.ms(baseSingle.p99)} (one server, direct)`,
        ratio: fmt.ratio(s.phase.requestsPerSecond / baseSingle.requestsPerSecond),
        target: '—',
      },
      {
        metric: `${BATCH}-price batches through Caddy, ${Math.max(1, Math.round(CONNECTIONS / 5))} connections, ${DURATION_S} s`,
        measured: `${fmt.int(b.phase.pricesPerSecond)} prices/s; p99 ${fmt.ms(b.phase.p99)}`,
        baseline: `${fmt.int(baseBatch.pricesPerSecond)} prices/s; p99 ${fmt.ms(baseBatch.p99)}`,
        ratio: fmt.ratio(b.phase.pricesPerSecond / baseBatch.pricesPerSecond),
        target: '—',
      },
      ...phases.map((p) => ({
        metric: `alerts during ${p.phase.label}`,
        measured: `${fmt.int(p.fired / p.seconds)} fired/s, ${fmt.int(p.sent / p.seconds)} delivered/s`,
        baseline: '—',
        ratio: fmt.ratio(p.fired > 0 ? p.sent / p.fired : 0),
        target: 'delivered keeps up with fired',
      })),
      ...phases.map((p) => ({
        metric: `live events received during ${p.phase.label} (newest price per symbol per group commit)`,
        measured: `${fmt.int(p.events / p.seconds)} /s in all, ${fmt.int(p.events / p.seconds / DASHBOARDS)} /s per dashboard`,
        baseline: '—',
        ratio: '—',
        target: '—',
      })),
    ]);
  },
);
