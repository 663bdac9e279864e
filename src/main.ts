import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { OPERATOR_USAGE, operatorCommand } from './auth/operator-cli.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { buildApp } from './http/app.ts';
import { createLogger } from './logger.ts';
import { openClient, runClientCommand } from './market-data/start.ts';
import { type OpsServer, processMetrics, startOpsServer } from './metrics/ops-server.ts';
import { assertNoEmbeddedServer, OperatorError, serverInfoPath } from './operator.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { systemClock } from './shared/clock.ts';
import { graceFor, listenForShutdown, type Shutdown } from './shutdown.ts';

const USAGE = `Usage: stockwatch <command>

Commands:
  all        every role in one process, on embedded defaults (what \`npm start\` runs)
  server     the REST API
  notifier   delivers alerts (email, webhooks, chat services) with retries; run as many as you like
  client     fetches prices from MARKET_DATA_PROVIDER and posts them to SERVER_URL
             (--once: one round whatever the hour, then exit; for cron)
  migrate    apply database migrations and exit
${OPERATOR_USAGE}

Configuration comes from the environment and an optional .env file; see .env.example.`;

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' }, once: { type: 'boolean' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  const config = loadConfig();
  const longRunning =
    ['all', 'server', 'notifier'].includes(command) || (command === 'client' && !values.once);
  const shutdown = longRunning
    ? listenForShutdown({ timeoutMs: config.shutdownTimeoutMs, log: createLogger(config) })
    : undefined;
  switch (command) {
    case 'all':
      return serve(
        config,
        { withClient: config.marketDataProvider !== 'none', withNotifier: true },
        shutdown!,
      );
    case 'server':
      return serve(config, { withClient: false, withNotifier: false }, shutdown!);
    case 'notifier':
      return runNotifier(config, shutdown!);
    case 'client':
      return runClient(config, values.once === true, shutdown);
    case 'migrate':
      return migrate(config);
    case 'users':
    case 'tokens':
      return operatorCommand(config, argv);
    default:
      console.error(`Unknown command '${command}'.\n\n${USAGE}`);
      return 1;
  }
}

/** METRICS_PORT, when set: /health and /metrics on a listener of their own. */
async function startOps(config: Config, metrics: { render(): Promise<string>; contentType: string }) {
  if (!config.metrics.port) return undefined;
  return startOpsServer({
    host: config.host,
    port: config.metrics.port,
    render: () => metrics.render(),
    contentType: metrics.contentType,
    ...(config.metrics.token && { token: config.metrics.token }),
  });
}

async function runClient(config: Config, once: boolean, shutdown: Shutdown | undefined) {
  const metrics = processMetrics();
  const ops: OpsServer | undefined = once ? undefined : await startOps(config, metrics);
  try {
    return await runClientCommand(config, {
      once,
      logger: createLogger(config),
      clock: systemClock,
      registry: metrics.registry,
      ...(shutdown && { stopped: shutdown.requested }),
    });
  } finally {
    await ops?.close();
  }
}

/**
 * The notification service alone: no HTTP API, just the delivery loop against the shared database.
 * On SIGTERM it stops claiming, lets sends in flight finish for most of SHUTDOWN_TIMEOUT, and releases
 * the leases of those that did not, so another notifier takes them over at once.
 */
async function runNotifier(config: Config, shutdown: Shutdown) {
  if (!config.databaseUrl || config.databaseUrl === 'memory://')
    throw new OperatorError(
      'stockwatch notifier needs DATABASE_URL (PostgreSQL): with the embedded database, `stockwatch all` runs the notifier itself',
    );
  const logger = createLogger(config);
  const runtime = await createRuntime(config, { logger });
  await runtime.database.migrate();
  const notifier = runtime.makeNotifier(`notifier-${process.pid}`);
  const ops = await startOps(config, runtime.metrics);
  notifier.start();
  logger.info('notifier started');
  await shutdown.requested;
  await notifier.stop(graceFor(shutdown));
  await ops?.close();
  await runtime.close();
  logger.info('notifier stopped');
  return 0;
}

async function migrate(config: Config) {
  if (!config.databaseUrl) assertNoEmbeddedServer(config.dataDir);
  const logger = createLogger(config);
  const runtime = await createRuntime(config, { logger });
  await runtime.database.migrate();
  await runtime.close();
  logger.info('migrations applied');
  return 0;
}

/**
 * The API (and, for `all`, the client and the notifier). On SIGTERM: the in-process client stops and
 * keeps what it did not send in its spool, the notifier finishes or releases its sends, the listener
 * stops accepting, live streams end, requests in flight complete and ingest writes commit, then the
 * connections close.
 */
async function serve(
  config: Config,
  roles: { withClient: boolean; withNotifier: boolean },
  shutdown: Shutdown,
) {
  const logger = createLogger(config);
  if (!config.databaseUrl) assertNoEmbeddedServer(config.dataDir);
  const runtime = await createRuntime(config, { logger });
  await runtime.database.migrate();
  const retention = runtime.makeRetentionJob(`server-${process.pid}`);
  // Before the first price arrives, so that this month's prices go to this month's partition.
  await retention
    .ensurePartitions()
    .catch((error: unknown) => logger.warn({ err: error }, 'prices: could not create partitions'));
  const app = await buildApp(runtime);
  await app.listen({ port: config.port, host: config.host });
  const address = localAddress(app, config);
  writeServerInfo(runtime, address);
  const ops = await startOps(config, runtime.metrics);

  const client = roles.withClient ? await startInProcessClient(runtime, address) : undefined;
  const notifier = roles.withNotifier ? runtime.makeNotifier(`all-${process.pid}`) : undefined;
  notifier?.start();
  retention.start(config.retention.intervalMs);
  logger.info(`Stockwatch is up: ${config.publicUrl ?? address} (API docs at /docs)`);

  await shutdown.requested;
  await client?.close();
  await notifier?.stop(graceFor(shutdown));
  await retention.stop();
  await app.close();
  await ops?.close();
  await runtime.close();
  rmSync(serverInfoPath(config.dataDir), { force: true });
  logger.info('stopped');
  return 0;
}

/** The configured provider's client, posting over HTTP to this very server like any other client. */
async function startInProcessClient(runtime: Runtime, serverUrl: string) {
  const client = await openClient(runtime.config, {
    serverUrl,
    ingestToken: runtime.secrets.ingestToken,
    logger: runtime.logger,
    clock: runtime.clock,
    // The simulator's round every few seconds would drown the server's log; LOG_LEVEL=debug shows them.
    progressLevel: runtime.config.marketDataProvider === 'alphavantage' ? 'info' : 'debug',
    registry: runtime.metrics.registry,
  });
  client?.start();
  return client;
}

function localAddress(app: FastifyInstance, config: Config): string {
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : config.port;
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Leaves the address of the running server in DATA_DIR for operator commands and the in-process client. */
function writeServerInfo(runtime: Runtime, address: string) {
  writeFileSync(
    serverInfoPath(runtime.config.dataDir),
    `${JSON.stringify({ pid: process.pid, address, database: runtime.database.kind, operatorToken: runtime.auth.operatorToken }, null, 2)}\n`,
    { mode: 0o600 },
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof OperatorError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  },
);
