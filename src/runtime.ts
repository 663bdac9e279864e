import type { Logger } from 'pino';
import { createIngestTokenCheck } from './auth/ingest-token.ts';
import { type Bus, createBus } from './bus/bus.ts';
import type { Config } from './config.ts';
import { connectDatabase, type DatabaseHandle } from './db/connect.ts';
import { createPricesRepo } from './prices/prices.repo.ts';
import { createPricesService } from './prices/prices.service.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { loadSecrets, type Secrets } from './shared/secrets.ts';

/**
 * Everything a role needs, wired once: the composition root. Tests build one with their own
 * database location and clock; `main.ts` builds one from the environment.
 */
export async function createRuntime(config: Config, options: { logger: Logger; clock?: Clock }) {
  const clock = options.clock ?? systemClock;
  const secrets: Secrets = loadSecrets(config.dataDir, { ingestToken: config.ingestToken });
  const database: DatabaseHandle = await connectDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  const bus: Bus = createBus(config.redisUrl, (error) => options.logger.warn({ err: error }, 'bus error'));

  const prices = createPricesService({
    db: database.db,
    transaction: database.transaction,
    repo: createPricesRepo(),
    bus,
    clock,
    // PGlite has one connection; on PostgreSQL a few transactions in flight keep the pool busy.
    maxConcurrentWrites: database.kind === 'pglite' ? 1 : 4,
    maxRowsPerWrite: config.ingestBatchMax,
  });

  return {
    config,
    clock,
    secrets,
    database,
    bus,
    logger: options.logger,
    checkIngestToken: createIngestTokenCheck(secrets.ingestToken),
    services: { prices },
    async close() {
      await prices.drain();
      await bus.close();
      await database.close();
    },
  };
}

export type Runtime = Awaited<ReturnType<typeof createRuntime>>;
