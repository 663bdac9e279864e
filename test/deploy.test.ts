import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARIABLES, loadConfig } from '../src/config.ts';
import { freePort, REPO_ROOT } from './helpers/process.ts';
import { createTestApp, type TestApp } from './helpers/runtime.ts';

/**
 * No Docker engine runs here, so the deploy files are checked against the code instead: every command
 * they run is a stockwatch sub-command, every variable they set is one config.ts reads (and the values
 * pass its schema), every port and host name lines up, and the health checks work against a real server.
 */
const DEPLOY = path.join(REPO_ROOT, 'deploy');
const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}
const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const stockwatchServices = Object.entries(services).filter(
  ([, s]) => s.build?.dockerfile === 'deploy/Dockerfile',
);

/** The sub-commands main.ts dispatches on. */
const SUBCOMMANDS = [...read('src/main.ts').matchAll(/^\s*case '([a-z]+)':/gm)].map((m) => m[1]);

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)(?:(:?)([-?])([^}]*))?\}/g,
    (_, name: string, colon: string, kind: string, arg: string) => {
      const set = env[name] !== undefined && (colon !== ':' || env[name] !== '');
      if (set) return env[name]!;
      if (kind === '?') throw new Error(`${name}: ${arg}`);
      return kind === '-' ? arg : '';
    },
  );
}

/** What deploy/.env holds in production (see docs/PRODUCTION.md). */
const DOT_ENV: Record<string, string> = {
  DOMAIN: 'stocks.example.com',
  ACME_EMAIL: 'ops@example.com',
  POSTGRES_PASSWORD: 'a-long-postgres-password',
  INGEST_TOKEN: 'i'.repeat(40),
  BETTER_AUTH_SECRET: 's'.repeat(40),
};

const environmentOf = (service: Service, env: Record<string, string> = DOT_ENV) =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), env)]),
  );

/** The port a health check's URL names. */
const healthPort = (service: Service) => {
  const url = service.healthcheck?.test.join(' ').match(/http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\//);
  return url ? Number(url[1]) : undefined;
};

describe('deploy/compose.yaml', () => {
  it('runs the one stockwatch image as server, notifier and client, with real sub-commands', () => {
    expect(stockwatchServices.map(([name]) => name).sort()).toEqual(['client', 'notifier', 'server']);
    const images = new Set(stockwatchServices.map(([, s]) => s.image));
    expect(images.size).toBe(1);
    expect(SUBCOMMANDS).toEqual(expect.arrayContaining(['all', 'server', 'notifier', 'client', 'migrate']));
    for (const [name, s] of stockwatchServices) {
      expect(s.command, name).toBeDefined();
      expect(SUBCOMMANDS, name).toContain(s.command![0]);
      expect(path.resolve(DEPLOY, s.build!.context)).toBe(REPO_ROOT);
      expect(existsSync(path.join(REPO_ROOT, s.build!.dockerfile))).toBe(true);
    }
    expect(services.server!.command).toEqual(['server']);
    expect(services.notifier!.command).toEqual(['notifier']);
    expect(services.client!.command).toEqual(['client']);
  });

  it('sets only variables that src/config.ts reads, with values its schema accepts', () => {
    for (const [name, s] of stockwatchServices) {
      const unknown = Object.keys(s.environment ?? {}).filter((v) => !ENV_VARIABLES.includes(v));
      expect(unknown, `${name} sets variables config.ts does not read`).toEqual([]);
      // The image's own ENV joins the service's, as in the container.
      const env = { ...DOCKERFILE_ENV, ...environmentOf(s) };
      expect(() => loadConfig(env), name).not.toThrow();
    }
    const server = loadConfig({ ...DOCKERFILE_ENV, ...environmentOf(services.server!) });
    expect(server.databaseUrl).toBe(
      'postgres://stockwatch:a-long-postgres-password@postgres:5432/stockwatch',
    );
    expect(server.redisUrl).toBe('redis://redis:6379');
    expect(server.host).toBe('0.0.0.0');
    expect(server.trustProxy).toBe(1);
    expect(server.publicUrl).toBe('https://stocks.example.com');
    expect(server.authSecret).toBe(DOT_ENV.BETTER_AUTH_SECRET);
    const notifier = loadConfig({ ...DOCKERFILE_ENV, ...environmentOf(services.notifier!) });
    expect(notifier.email).toEqual({ kind: 'mailbox' });
    expect(notifier.ingestToken).toBe(server.ingestToken);
    const client = loadConfig({ ...DOCKERFILE_ENV, ...environmentOf(services.client!) });
    expect(client.marketDataProvider).toBe('simulator');
    expect(client.ingestToken).toBe(server.ingestToken);
  });

  it('takes its secrets from .env and refuses to start without them', () => {
    const everything = JSON.stringify(services);
    for (const secret of ['INGEST_TOKEN', 'BETTER_AUTH_SECRET', 'POSTGRES_PASSWORD']) {
      expect(everything).toMatch(new RegExp(`\\$\\{${secret}:\\?`));
      const without = Object.fromEntries(Object.entries(DOT_ENV).filter(([k]) => k !== secret));
      expect(() => environmentOf(services.server!, without)).toThrow(secret);
    }
    // No secret is written into the file itself.
    expect(read('deploy/compose.yaml')).not.toMatch(/(TOKEN|SECRET|PASSWORD): [^$\s]/);
  });

  it('lines up every port and host name', () => {
    const server = services.server!;
    const serverEnv = environmentOf(server);
    const apiPort = Number(serverEnv.PORT);
    expect(apiPort).toBe(3000);
    expect(healthPort(server)).toBe(apiPort);
    // Scalable: no host port to collide on; reached through Caddy, or by name inside the network.
    expect(server.ports).toBeUndefined();
    expect(server.deploy?.replicas).toBeGreaterThanOrEqual(2);

    const caddyEnv = environmentOf(services.caddy!);
    expect(caddyEnv.UPSTREAMS).toBe(`server:${apiPort}`);
    const clientUrl = new URL(environmentOf(services.client!).SERVER_URL!);
    expect([clientUrl.hostname, Number(clientUrl.port)]).toEqual(['server', apiPort]);

    for (const name of ['notifier', 'client']) {
      const s = services[name]!;
      const port = Number(environmentOf(s).METRICS_PORT);
      expect(port, name).toBeGreaterThan(0);
      expect(healthPort(s), name).toBe(port);
      expect(DOCKERFILE_EXPOSE, name).toContain(port);
    }
    expect(DOCKERFILE_EXPOSE).toContain(apiPort);

    const database = new URL(environmentOf(server).DATABASE_URL!);
    const postgresEnv = environmentOf(services.postgres!);
    expect(database.hostname).toBe('postgres');
    expect(database.port).toBe('5432');
    expect(database.username).toBe(postgresEnv.POSTGRES_USER);
    expect(database.password).toBe(postgresEnv.POSTGRES_PASSWORD);
    expect(database.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
    const redis = new URL(environmentOf(server).REDIS_URL!);
    expect([redis.hostname, redis.port]).toEqual(['redis', '6379']);

    // Caddy publishes 80 and 443, which are the Caddyfile's defaults for HTTP_PORT and HTTPS_PORT.
    const caddyfile = read('deploy/Caddyfile');
    const published = (services.caddy!.ports ?? []).map((p) => p.split(':').map(Number));
    expect(published).toEqual([
      [80, Number(/\{\$HTTP_PORT:(\d+)\}/.exec(caddyfile)?.[1])],
      [443, Number(/\{\$HTTPS_PORT:(\d+)\}/.exec(caddyfile)?.[1])],
    ]);
    const placeholders = new Set([...caddyfile.matchAll(/\{\$(\w+)/g)].map((m) => m[1]));
    for (const variable of Object.keys(caddyEnv)) expect(placeholders, variable).toContain(variable);
    expect(services.caddy!.volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro');
  });

  it('gives every service a health check and a restart policy, and waits for what it needs', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.test.length, name).toBeGreaterThan(1);
      expect(['unless-stopped', 'always'], name).toContain(s.restart);
      for (const dependency of Object.keys(s.depends_on ?? {})) {
        expect(Object.keys(services), name).toContain(dependency);
        expect(s.depends_on![dependency]!.condition).toBe('service_healthy');
      }
    }
    for (const name of ['server', 'notifier'])
      expect(Object.keys(services[name]!.depends_on ?? {}).sort()).toEqual(['postgres', 'redis']);
    // Docker's SIGKILL comes after stop_grace_period: longer than the roles' own SHUTDOWN_TIMEOUT.
    for (const [name, s] of stockwatchServices) {
      const timeout = loadConfig({ ...DOCKERFILE_ENV, ...environmentOf(s) }).shutdownTimeoutMs;
      expect(Number.parseInt(s.stop_grace_period ?? '10', 10) * 1000, name).toBeGreaterThan(timeout);
    }
  });

  it('keeps data in volumes: PostgreSQL, Redis (append-only), the client spool, Caddy certificates', () => {
    expect(services.postgres!.image).toBe('postgres:15');
    expect(services.postgres!.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(services.redis!.image).toBe('redis:7');
    expect(services.redis!.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(services.redis!.volumes).toContain('redis-data:/data');
    expect(services.client!.volumes).toContain(`client-data:${DOCKERFILE_ENV.DATA_DIR}`);
    expect(services.caddy!.volumes).toContain('caddy-data:/data');
    const named = Object.values(services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(':')[0]!)
      .filter((v) => !v.startsWith('.'));
    expect(Object.keys(compose.volumes).sort()).toEqual([...new Set(named)].sort());
  });
});

/** The Dockerfile's instructions, continuation lines joined. */
const DOCKERFILE = read('deploy/Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = DOCKERFILE.reduce<string[][]>((all, line) => {
  if (line.startsWith('FROM ')) all.push([]);
  all.at(-1)?.push(line);
  return all;
}, []);
const runtimeStage = stages.at(-1)!;
const DOCKERFILE_ENV: Record<string, string> = Object.fromEntries(
  runtimeStage
    .filter((l) => l.startsWith('ENV '))
    .flatMap((l) => [...l.slice(4).matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
);
const DOCKERFILE_EXPOSE = runtimeStage
  .filter((l) => l.startsWith('EXPOSE '))
  .flatMap((l) => l.slice(7).split(/\s+/).map(Number));

describe('deploy/Dockerfile', () => {
  it('builds in one stage and runs node:20-slim as a non-root user in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtimeStage[0]).toBe('FROM node:20-slim');
    const build = stages[0]!;
    // npm ci runs `prepare`, which builds the dashboard and the server bundle into dist/.
    expect(build.some((l) => /^RUN .*npm ci\b/.test(l))).toBe(true);
    expect(JSON.parse(read('package.json')).scripts.prepare).toBe(
      'npm run build:web && npm run build:server && npm run build:pglite',
    );
    const copies = runtimeStage.filter((l) => l.startsWith('COPY '));
    const dist = copies.findIndex((l) => /^COPY --from=build .*\/app\/dist \.\/dist$/.test(l));
    expect(dist).toBeGreaterThanOrEqual(0);
    // Copied after the sources, so that the bundle is newer than them and bin/stockwatch.mjs runs it.
    expect(copies.findIndex((l) => / src \.\/src$/.test(l))).toBeLessThan(dist);
    const users = runtimeStage.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toMatch(/^USER (node|\d{4,})$/);
  });

  it('starts bin/stockwatch.mjs, which exists, with the role as its argument', () => {
    const entrypoint = runtimeStage.find((l) => l.startsWith('ENTRYPOINT '));
    expect(entrypoint).toBe('ENTRYPOINT ["node", "bin/stockwatch.mjs"]');
    const [, file] = JSON.parse(entrypoint!.slice('ENTRYPOINT '.length)) as string[];
    expect(existsSync(path.join(REPO_ROOT, file!))).toBe(true);
    const cmd = JSON.parse(runtimeStage.find((l) => l.startsWith('CMD '))!.slice(4)) as string[];
    expect(SUBCOMMANDS).toContain(cmd[0]);
    for (const name of Object.keys(DOCKERFILE_ENV)) expect(ENV_VARIABLES).toContain(name);
    expect(() => loadConfig(DOCKERFILE_ENV)).not.toThrow();
  });

  it('copies only files that exist and that the ignore file lets through', () => {
    const ignored = read('deploy/Dockerfile.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const sources = stages
      .flat()
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => {
        const parts = l.split(/\s+/).filter((p) => !p.startsWith('--'));
        return parts.slice(1, -1);
      });
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(path.join(REPO_ROOT, source)), source).toBe(true);
      expect(ignored, source).not.toContain(source);
    }
    for (const needed of ['src', 'bin', 'web', 'package.json', 'package-lock.json'])
      expect(sources).toContain(needed);
  });
});

describe('the health checks, run against a real server', () => {
  let t: TestApp;
  let port: number;
  const run = promisify(execFile);
  beforeAll(async () => {
    t = await createTestApp('pglite');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t.close());

  /** Runs a `["CMD", "node", "-e", script]` check as Docker would, with the container's variables. */
  async function check(test: string[], env: Record<string, string>): Promise<number> {
    const [kind, command, ...args] = test;
    expect(kind).toBe('CMD');
    expect(command).toBe('node');
    return run(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env } }).then(
      () => 0,
      (error: { code?: number }) => error.code ?? -1,
    );
  }

  it("the image's HEALTHCHECK asks /health on PORT, or on METRICS_PORT when set", async () => {
    const line = runtimeStage.find((l) => l.startsWith('HEALTHCHECK '))!;
    const test = ['CMD', ...(JSON.parse(line.slice(line.indexOf('CMD ') + 4)) as string[])];
    expect(await check(test, { PORT: String(port) })).toBe(0);
    expect(await check(test, { PORT: '1', METRICS_PORT: String(port) })).toBe(0);
    expect(await check(test, { PORT: String(await freePort()) })).toBe(1);
  });

  it("compose's health checks pass against a live server and fail without one", async () => {
    for (const name of ['server', 'notifier', 'client']) {
      const test = services[name]!.healthcheck!.test.map((part) =>
        part.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`),
      );
      expect(await check(test, {}), name).toBe(0);
      const dead = test.map((part) => part.replace(`:${port}/`, `:${1}/`));
      expect(await check(dead, {}), name).toBe(1);
    }
  });
});

describe('deploy/Caddyfile', () => {
  it('does not proxy /metrics', () => {
    expect(read('deploy/Caddyfile')).toMatch(/^\s*respond \/metrics\*? 404$/m);
  });
});
