import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type Logger, pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import type { Clock } from '../../src/shared/clock.ts';

export type Backend = 'pglite' | 'postgres';

/** The real PostgreSQL of this machine unless CI says otherwise. */
export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every API suite runs on both databases: the embedded one and the real server. */
export const BACKENDS: Backend[] = ['pglite', 'postgres'];

/** Creates an empty database on the PostgreSQL server for one test file and returns its URL. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sw_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  runtime: Runtime;
  ingestToken: string;
  dataDir: string;
  databaseUrl: string | undefined;
  close(): Promise<void>;
}

/** A runtime and app on a fresh database of the given kind, with its own DATA_DIR. */
export async function createTestApp(
  backend: Backend,
  options: { clock?: Clock; env?: Record<string, string>; databaseUrl?: string; logger?: Logger } = {},
): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'stockwatch-test-'));
  const database = backend === 'postgres' && !options.databaseUrl ? await createTestDatabase() : undefined;
  const databaseUrl = options.databaseUrl ?? database?.url ?? 'memory://';
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'silent',
    // Every inject comes from 127.0.0.1: suites would share one IP's budget. Rate-limit tests set their own.
    RATE_LIMIT_PER_MINUTE: '1000000',
    AUTH_RATE_LIMIT_PER_MINUTE: '1000000',
    ...options.env,
  });
  const runtime = await createRuntime(config, {
    logger: options.logger ?? pino({ level: 'silent' }),
    ...(options.clock && { clock: options.clock }),
  });
  await runtime.database.migrate();
  const app = await buildApp(runtime);
  await app.ready();
  return {
    app,
    runtime,
    ingestToken: runtime.secrets.ingestToken,
    dataDir,
    databaseUrl,
    async close() {
      await app.close();
      await runtime.close();
      await database?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Two app instances ("servers", each with its own DATA_DIR) on one fresh PostgreSQL database, for the
 * tests of a describe block: created before all of them, closed and the database dropped after. Read
 * `a` and `b` once the hooks have run (in a test, or a later beforeAll).
 */
export function useTwoServers(options: { clock?: Clock } = {}): { a: TestApp; b: TestApp } {
  const servers = {} as { a: TestApp; b: TestApp };
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    const shared = { databaseUrl: database.url, ...(options.clock && { clock: options.clock }) };
    servers.a = await createTestApp('postgres', shared);
    servers.b = await createTestApp('postgres', shared);
  });
  afterAll(async () => {
    await servers.a?.close();
    await servers.b?.close();
    await database?.drop();
  });
  return servers;
}
