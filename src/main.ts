import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { buildApp } from './http/app.ts';
import { createLogger } from './logger.ts';
import { createMarketDataClient } from './market-data/client.ts';
import { createSimulatorProvider } from './market-data/providers/simulator.ts';
import { assertNoEmbeddedServer, OperatorError, serverInfoPath } from './operator.ts';
import { createRuntime, type Runtime } from './runtime.ts';

const USAGE = `Usage: stockwatch <command>

Commands:
  all        every role in one process, on embedded defaults (what \`npm start\` runs)
  server     the REST API
  migrate    apply database migrations and exit

Configuration comes from the environment and an optional .env file; see .env.example.`;

async function main(argv: string[]) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  const config = loadConfig();
  switch (command) {
    case 'all':
      return serve(config, { withClient: config.marketDataProvider !== 'none' });
    case 'server':
      return serve(config, { withClient: false });
    case 'migrate':
      return migrate(config);
    default:
      console.error(`Unknown command '${command}'.\n\n${USAGE}`);
      return 1;
  }
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

async function serve(config: Config, roles: { withClient: boolean }) {
  const logger = createLogger(config);
  if (!config.databaseUrl) assertNoEmbeddedServer(config.dataDir);
  const runtime = await createRuntime(config, { logger });
  await runtime.database.migrate();
  const app = await buildApp(runtime);
  await app.listen({ port: config.port, host: config.host });
  const address = localAddress(app, config);
  writeServerInfo(runtime, address);

  const client = roles.withClient ? startSimulatorClient(runtime, address) : undefined;
  logger.info(`Stockwatch is up: ${config.publicUrl ?? address} (API docs at /docs)`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info(`${signal} received, shutting down`);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // A second Ctrl-C means "now".
  process.once('SIGINT', () => process.exit(130));
  await client?.stop();
  await app.close();
  await runtime.close();
  rmSync(serverInfoPath(config.dataDir), { force: true });
  return 0;
}

function startSimulatorClient(runtime: Runtime, serverUrl: string) {
  const { config } = runtime;
  const client = createMarketDataClient({
    provider: createSimulatorProvider({
      seed: config.simulatorSeed,
      intervalMs: config.simulatorIntervalMs,
      clock: runtime.clock,
      stateDir: config.dataDir,
    }),
    symbols: config.symbols,
    serverUrl,
    ingestToken: runtime.secrets.ingestToken,
    log: runtime.logger.child({ role: 'client' }),
  });
  client.start();
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
    `${JSON.stringify({ pid: process.pid, address, database: runtime.database.kind }, null, 2)}\n`,
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
