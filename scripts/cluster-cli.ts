/**
 * `scripts/cluster` (or `npm run cluster --`): the distributed shape on this machine, for people.
 * Starts the processes of scripts/cluster.ts, prints where everything is, and stops them all on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type Cluster, startCluster } from './cluster.ts';

const USAGE = `Usage: scripts/cluster [options]

Starts N servers, M notifiers and K clients as separate processes on this machine's PostgreSQL and
Redis, with Caddy in front of the servers. Ctrl-C stops them all (SIGTERM, then SIGKILL after 15 s).

Options:
  --servers N          API servers behind Caddy (default 2)
  --notifiers N        notifiers (default 2)
  --clients N          market-data clients (default 1)
  --port P             Caddy's port on 127.0.0.1 (default 8080)
  --database-url URL   PostgreSQL; created if missing (default $DATABASE_URL, else
                       postgres://postgres@127.0.0.1:5432/stockwatch_cluster)
  --redis-url URL      Redis (default $REDIS_URL, else redis://127.0.0.1:6379)
  --smtp-url URL       SMTP server for the notifiers (default $SMTP_URL, else the built-in mailbox)
  --alphavantage-url U Alpha Vantage origin for the clients (with ALPHAVANTAGE_API_KEY set);
                       default: the built-in simulator
  --symbols A,B,C      what the clients watch
  --dir PATH           logs and data folders (default a new temporary folder, deleted at the end)

INGEST_TOKEN and BETTER_AUTH_SECRET are generated once for all processes unless set in the environment.`;

async function ensureDatabase(url: string) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      servers: { type: 'string', default: '2' },
      notifiers: { type: 'string', default: '2' },
      clients: { type: 'string', default: '1' },
      port: { type: 'string', default: '8080' },
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'smtp-url': { type: 'string' },
      'alphavantage-url': { type: 'string' },
      symbols: { type: 'string' },
      dir: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const count = (name: 'servers' | 'notifiers' | 'clients' | 'port', min: number) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected a whole number ≥ ${min}`);
    return n;
  };
  const databaseUrl =
    values['database-url'] ??
    process.env.DATABASE_URL ??
    'postgres://postgres@127.0.0.1:5432/stockwatch_cluster';
  await ensureDatabase(databaseUrl);
  const smtpUrl = values['smtp-url'] ?? process.env.SMTP_URL;
  const alphaVantageUrl = values['alphavantage-url'];
  const apiKey = process.env.ALPHAVANTAGE_API_KEY;

  console.log('starting…');
  const cluster: Cluster = await startCluster({
    servers: count('servers', 1),
    notifiers: count('notifiers', 0),
    clients: count('clients', 0),
    port: count('port', 1),
    databaseUrl,
    redisUrl: values['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    ...(smtpUrl && { smtpUrl }),
    ...(alphaVantageUrl && { alphaVantageUrl }),
    ...(values.symbols && { symbols: values.symbols.split(',') }),
    ...(values.dir && { dir: values.dir }),
    ...(process.env.INGEST_TOKEN && { ingestToken: process.env.INGEST_TOKEN }),
    ...(process.env.BETTER_AUTH_SECRET && { authSecret: process.env.BETTER_AUTH_SECRET }),
    roleEnv: apiKey ? { client: { ALPHAVANTAGE_API_KEY: apiKey } } : {},
  });

  console.log(`\nStockwatch cluster up: ${cluster.url} (dashboard; API docs at ${cluster.url}/docs)\n`);
  for (const p of cluster.all())
    console.log(
      `  ${p.name.padEnd(11)} pid ${String(p.pid()).padEnd(8)} ${p.role === 'server' ? `http://127.0.0.1:${p.port}` : p.role === 'caddy' ? cluster.url : `/health, /metrics on http://127.0.0.1:${p.port}`}`,
    );
  console.log(`\n  database    ${databaseUrl}\n  logs        ${cluster.dir}/*.log`);
  console.log(
    `  ingest      curl -X POST ${cluster.url}/stocks -H 'authorization: Bearer ${cluster.ingestToken}' …`,
  );
  console.log('\nCtrl-C stops everything.');

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  console.log('\nstopping…');
  const codes = await cluster.stop();
  console.log(
    Object.entries(codes)
      .map(([name, code]) => `${name}: ${code}`)
      .join(', '),
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
