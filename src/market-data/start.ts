import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.ts';
import { runningServer } from '../operator.ts';
import type { Clock } from '../shared/clock.ts';
import { loadSecrets } from '../shared/secrets.ts';
import { createAlphaVantageProvider } from './alphavantage/provider.ts';
import { createFileQuotaStore } from './alphavantage/quota-file-store.ts';
import { createMarketDataClient, type RejectedBar } from './client.ts';
import { createFileStateStore, lockClientDir } from './client-state.ts';
import { createCsvProvider } from './providers/csv.ts';
import { createSimulatorProvider } from './providers/simulator.ts';
import { createServerApi } from './server-api.ts';
import { type ClientFleet, openClientFleet, registerFleetGauges } from './sharing/fleet.ts';
import { openSpool } from './spool.ts';
import type { Bar, PriceProvider } from './types.ts';

/**
 * Wires the client role from the configuration: the provider it names, the spool and state in
 * DATA_DIR/client, and the server it posts to. `stockwatch client` and `stockwatch all` both start here.
 */

/** Where a client keeps its spool, state, quota count and lock. */
export function clientDir(config: Pick<Config, 'dataDir'>): string {
  return path.join(config.dataDir, 'client');
}

export function createProvider(
  config: Config,
  deps: { clock: Clock; logger: Logger; fleet?: ClientFleet },
): PriceProvider | undefined {
  const { fleet } = deps;
  switch (config.marketDataProvider) {
    case 'none':
      return undefined;
    case 'simulator':
      return createSimulatorProvider({
        seed: config.simulatorSeed,
        intervalMs: config.simulatorIntervalMs,
        clock: deps.clock,
        stateDir: config.dataDir,
      });
    case 'csv':
      return createCsvProvider({ file: config.csv.file!, speed: config.csv.speed, clock: deps.clock });
    case 'alphavantage': {
      const av = config.alphaVantage;
      return createAlphaVantageProvider({
        apiKey: av.apiKey!,
        baseUrl: av.baseUrl,
        entitlement: av.entitlement,
        callsPerMinute: av.callsPerMinute,
        callsPerDay: av.callsPerDay,
        marketHours: config.marketHours,
        clock: { now: () => deps.clock.now().getTime() },
        log: deps.logger,
        // Counted on disk: a restart, or `--once` from cron, must not get a fresh day's allowance.
        // With REDIS_URL it is counted there instead, for every client using the key.
        quotaStore: createFileQuotaStore(path.join(clientDir(config), 'alphavantage-quota.json')),
        ...(fleet?.quota && { quota: fleet.quota }),
        ...(fleet?.leases && { sharing: { fleetSymbols: config.symbols, leases: fleet.leases } }),
      });
    }
  }
}

/** SERVER_URL, else the server running on this DATA_DIR, else this machine's PORT. */
export function resolveServerUrl(config: Config): string {
  return config.serverUrl ?? runningServer(config.dataDir)?.address ?? `http://127.0.0.1:${config.port}`;
}

export interface StartClientOptions {
  serverUrl: string;
  ingestToken: string;
  logger: Logger;
  clock: Clock;
  progressLevel?: 'info' | 'debug';
  /** `--once`: the client does not join the others on Redis (it fetches every symbol), only shares the quota. */
  once?: boolean;
  /** Where the client's gauges go (symbols owned, shared quota left), when it runs with REDIS_URL. */
  registry?: Registry;
}

export interface StartedClient {
  /** Polls until stopped. */
  start(): void;
  runOnce: ReturnType<typeof createMarketDataClient>['runOnce'];
  /** Stops, leaves unsent bars in the spool, and releases the folder. */
  close(): Promise<void>;
}

/** Opens the client's folder (taking its lock) and builds the client; `undefined` for provider `none`. */
export async function openClient(
  config: Config,
  options: StartClientOptions,
): Promise<StartedClient | undefined> {
  const log = options.logger.child({ role: 'client' });
  if (config.marketDataProvider === 'none') return undefined;
  const dir = clientDir(config);
  const release = lockClientDir(dir);
  let fleet: ClientFleet | undefined;
  try {
    fleet = openClientFleet(config, {
      join: !options.once,
      log,
      now: () => options.clock.now().getTime(),
    });
    const provider = createProvider(config, { clock: options.clock, logger: log, fleet });
    if (!provider) throw new Error(`no provider for ${config.marketDataProvider}`);
    const onTornLine = ({ file, bytes }: { file: string; bytes: number }) =>
      log.warn({ file, bytes }, 'dropped the torn last line of a spool (the client stopped mid-write)');
    const spool = await openSpool<Bar>(dir, { onTornLine });
    const rejected = await openSpool<RejectedBar>(dir, { fileName: 'rejected.jsonl', onTornLine });
    const client = createMarketDataClient({
      provider,
      symbols: config.symbols,
      server: createServerApi({ serverUrl: options.serverUrl, ingestToken: options.ingestToken }),
      spool,
      rejected,
      state: createFileStateStore(dir),
      log,
      progressLevel: options.progressLevel,
      now: () => options.clock.now().getTime(),
      ...(fleet?.membership && { ownership: fleet.membership }),
      ...(fleet?.progress && { sharedProgress: fleet.progress }),
    });
    await fleet?.membership?.start();
    if (fleet && options.registry) registerFleetGauges(options.registry, fleet);
    const opened = fleet;
    return {
      start: () => client.start(),
      runOnce: () => client.runOnce(),
      async close() {
        await client.stop();
        // Leaving after the last fetch: the others take this client's symbols over at once.
        await opened?.close();
        release();
      },
    };
  } catch (error) {
    await fleet?.close();
    release();
    throw error;
  }
}

/**
 * `stockwatch client [--once]`: a process of its own posting to the server over HTTP. With `--once`
 * it runs one round and exits 0 when everything fetched reached the server, 1 when bars stay spooled
 * (or the provider is misconfigured), so that cron reports it.
 */
export async function runClientCommand(
  config: Config,
  options: {
    once: boolean;
    logger: Logger;
    clock: Clock;
    /** Resolves when the client should stop; by default its own SIGINT/SIGTERM listener. */
    stopped?: Promise<unknown>;
    registry?: Registry;
  },
): Promise<number> {
  const { logger } = options;
  if (config.marketDataProvider === 'none') {
    logger.error('MARKET_DATA_PROVIDER=none: the client has nothing to fetch');
    return 1;
  }
  const ingestToken = config.ingestToken ?? loadSecrets(config.dataDir, {}).ingestToken;
  const client = await openClient(config, {
    serverUrl: resolveServerUrl(config),
    ingestToken,
    logger,
    clock: options.clock,
    progressLevel: 'info',
    once: options.once,
    ...(options.registry && { registry: options.registry }),
  });
  if (!client) return 1;

  if (options.once) {
    try {
      const report = await client.runOnce();
      if (report.spooled > 0)
        logger.error(
          `${report.spooled} bars stay in ${path.join(clientDir(config), 'spool.jsonl')}; the next run sends them first`,
        );
      return report.spooled > 0 || report.providerProblem ? 1 : 0;
    } finally {
      await client.close();
    }
  }

  client.start();
  await (options.stopped ??
    new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info(`${signal} received, stopping the client (unsent bars stay in the spool)`);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }));
  await client.close();
  logger.info('client stopped (unsent bars stay in the spool)');
  return 0;
}
