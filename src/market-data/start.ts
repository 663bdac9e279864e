import path from 'node:path';
import type { Logger } from 'pino';
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
  deps: { clock: Clock; logger: Logger },
): PriceProvider | undefined {
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
        quotaStore: createFileQuotaStore(path.join(clientDir(config), 'alphavantage-quota.json')),
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
  const provider = createProvider(config, { clock: options.clock, logger: log });
  if (!provider) return undefined;
  const dir = clientDir(config);
  const release = lockClientDir(dir);
  try {
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
    });
    return {
      start: () => client.start(),
      runOnce: () => client.runOnce(),
      async close() {
        await client.stop();
        release();
      },
    };
  } catch (error) {
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
