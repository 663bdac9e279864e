import type { Logger } from 'pino';
import { createAlertsRepo } from './alerts/alerts.repo.ts';
import { createAlertsService } from './alerts/alerts.service.ts';
import type { ChannelSet } from './alerts/channels/channel.ts';
import { createDiscordChannel } from './alerts/channels/discord.ts';
import { createEmailChannel } from './alerts/channels/email.ts';
import { webhookUrlProblem } from './alerts/channels/network-guard.ts';
import { createNtfyChannel } from './alerts/channels/ntfy.ts';
import { createSlackChannel } from './alerts/channels/slack.ts';
import { createTelegramChannel } from './alerts/channels/telegram.ts';
import { createWebhookChannel } from './alerts/channels/webhook.ts';
import { createDeliveriesRepo } from './alerts/deliveries.repo.ts';
import { createMailboxRepo, createUserSettingsRepo } from './alerts/mailbox.repo.ts';
import { createNotifier } from './alerts/notifier.ts';
import { createUserChannelsRepo } from './alerts/user-channels.repo.ts';
import { createUserChannelsService } from './alerts/user-channels.service.ts';
import { createAuth } from './auth/index.ts';
import { createIngestAuth } from './auth/ingest-token.ts';
import { type Bus, createBus } from './bus/bus.ts';
import type { Config } from './config.ts';
import { connectDatabase, type DatabaseHandle } from './db/connect.ts';
import { createEventHub } from './events/hub.ts';
import { createClientStatusRepo } from './market-data/client-status.repo.ts';
import { createClientStatusService } from './market-data/client-status.service.ts';
import { timedEvaluation, withIngestMetrics } from './metrics/instrument.ts';
import { createMetricsRepo } from './metrics/metrics.repo.ts';
import { createMetrics } from './metrics/metrics.ts';
import { registerScrapeGauges } from './metrics/scrape.ts';
import { createEvaluator } from './notifications/evaluator.ts';
import { createNotificationsRepo } from './notifications/notifications.repo.ts';
import { createNotificationsService } from './notifications/notifications.service.ts';
import { createPricesRepo } from './prices/prices.repo.ts';
import { createPricesService } from './prices/prices.service.ts';
import { createRetentionRepo } from './prices/retention.repo.ts';
import { createRetentionJob } from './prices/retention.ts';
import { type Clock, systemClock } from './shared/clock.ts';
import { loadSecrets, type Secrets } from './shared/secrets.ts';

/**
 * Everything a role needs, wired once: the composition root. Tests build one with their own
 * database location and clock; `main.ts` builds one from the environment.
 */
export async function createRuntime(config: Config, options: { logger: Logger; clock?: Clock }) {
  const clock = options.clock ?? systemClock;
  const secrets: Secrets = loadSecrets(config.dataDir, {
    ingestToken: config.ingestToken,
    authSecret: config.authSecret,
  });
  const database: DatabaseHandle = await connectDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  const bus: Bus = createBus(config.redisUrl, (error) => options.logger.warn({ err: error }, 'bus error'));

  // One registry per runtime, handed to what counts; GET /metrics renders it.
  const metrics = createMetrics();
  const notificationsRepo = createNotificationsRepo();
  const mailboxRepo = createMailboxRepo();
  const settingsRepo = createUserSettingsRepo();
  const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  // Every channel module, once: the notifier sends through them, and so does POST /channels/{id}/test.
  const channels: ChannelSet = {
    email: createEmailChannel(config.email, (message) => mailboxRepo.store(database.db, message)),
    webhook: createWebhookChannel({
      allowPrivate: config.webhookAllowPrivate,
      secretFor: (userId) => settingsRepo.webhookSecret(database.db, userId),
    }),
    ntfy: createNtfyChannel({ allowPrivate: config.webhookAllowPrivate }),
    slack: createSlackChannel({ allowPrivate: config.webhookAllowPrivate }),
    discord: createDiscordChannel({ allowPrivate: config.webhookAllowPrivate }),
    telegram: createTelegramChannel({ apiUrl: config.telegramApiUrl }),
  };
  const userChannels = createUserChannelsService({
    db: database.db,
    repo: createUserChannelsRepo(),
    channels,
    clock,
    publicUrl,
    checkUrl: (url) => webhookUrlProblem(url, config.webhookAllowPrivate),
  });
  const prices = withIngestMetrics(
    createPricesService({
      db: database.db,
      transaction: database.transaction,
      repo: createPricesRepo(),
      bus,
      clock,
      // PGlite has one connection; on PostgreSQL a few transactions in flight keep the pool busy.
      maxConcurrentWrites: database.kind === 'pglite' ? 1 : 4,
      maxRowsPerWrite: config.ingestBatchMax,
      evaluationWindowMs: config.alertMaxPriceAgeMs,
      onFreshPrices: timedEvaluation(
        createEvaluator({
          repo: notificationsRepo,
          bus,
          clock,
          maxPriceAgeMs: config.alertMaxPriceAgeMs,
          retentionDays: config.retention.days,
          onFired: (fired) => metrics.alertsFired(fired.length),
          onRead: metrics.evaluationReads,
        }),
        metrics,
      ),
    }),
    metrics,
  );
  const notifications = createNotificationsService({
    db: database.db,
    repo: notificationsRepo,
    clock,
    maxPerUser: config.notificationsPerUser,
    checkWebhookUrl: (url) => webhookUrlProblem(url, config.webhookAllowPrivate),
    ownsChannel: userChannels.owns,
  });
  const alerts = createAlertsService({
    db: database.db,
    repo: createAlertsRepo(),
    mailbox: mailboxRepo,
    settings: settingsRepo,
    bus,
    clock,
    mailboxEnabled: config.email.kind === 'mailbox',
  });

  const hub = createEventHub(bus);
  const clientStatus = createClientStatusService({ db: database.db, repo: createClientStatusRepo(), clock });
  const metricsRepo = createMetricsRepo();
  registerScrapeGauges(metrics, {
    sseClients: hub.size,
    deliveryBacklog: () => metricsRepo.deliveryBacklog(database.db, clock.now()),
    clients: async () => (await clientStatus.list()).clients,
    now: () => clock.now(),
  });

  /** The notification service role; `stockwatch all` and `stockwatch notifier` start one. */
  const makeNotifier = (workerId: string) =>
    createNotifier({
      db: database.db,
      repo: createDeliveriesRepo(),
      channels,
      bus,
      clock,
      log: options.logger.child({ role: 'notifier', worker: workerId }),
      workerId,
      publicUrl,
      leaseMs: config.notifier.leaseMs,
      sweepMs: config.notifier.sweepMs,
      backoffMs: config.notifier.backoffMs,
      metrics: metrics.deliveries,
    });

  /** RETENTION_DAYS: every server schedules it; one at a time does the work. */
  const makeRetentionJob = (workerId: string) =>
    createRetentionJob({
      db: database.db,
      transaction: database.transaction,
      repo: createRetentionRepo(),
      clock,
      log: options.logger.child({ job: 'retention' }),
      workerId,
      days: config.retention.days,
    });

  const ingestAuth = createIngestAuth(secrets.ingestToken);
  return {
    config,
    clock,
    secrets,
    database,
    bus,
    logger: options.logger,
    ingestAuth,
    auth: createAuth({ config, db: database.db, secrets, logger: options.logger, clock, ingestAuth }),
    services: {
      prices,
      notifications,
      alerts,
      channels: userChannels,
      clientStatus,
    },
    metrics,
    makeNotifier,
    makeRetentionJob,
    hub,
    async close() {
      await prices.drain();
      hub.close();
      await bus.close();
      await database.close();
    },
  };
}

export type Runtime = Awaited<ReturnType<typeof createRuntime>>;
