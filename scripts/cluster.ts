/**
 * The distributed shape of deploy/compose.yaml without Docker: N `stockwatch server`, M `stockwatch
 * notifier` and K `stockwatch client` processes on this machine's PostgreSQL and Redis, with Caddy in
 * front of the servers. Used by the fault-injection suite (test/faults.cluster.test.ts), the load run
 * (bench/cluster-load.ts), and people (`scripts/cluster`, see scripts/cluster-cli.ts).
 *
 * Every process is `node bin/stockwatch.mjs <role>` with exactly the environment given here (nothing
 * inherited from the shell, and its own folder as the working directory so no `.env` leaks in). Each one
 * can be killed and started again on the same port and data folder, which is what fault injection needs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO_ROOT, 'bin', 'stockwatch.mjs');

export type Role = 'server' | 'notifier' | 'client';

export interface ClusterOptions {
  servers: number;
  notifiers: number;
  clients: number;
  /** `postgres://…`: the database every server and notifier shares (it must exist). */
  databaseUrl: string;
  /** `redis://…`: the bus, the shared rate limits, the clients' coordination. */
  redisUrl: string;
  /** `smtp://…` for the notifiers; unset: the built-in mailbox. */
  smtpUrl?: string;
  /** Origin of an Alpha Vantage (real or fake) for the clients; unset: the built-in simulator. */
  alphaVantageUrl?: string;
  /** The symbols the clients watch (default: the program's ten). */
  symbols?: readonly string[];
  /** Caddy's port (default: a free one). */
  port?: number;
  /** Where logs and data folders go (default: a new temporary folder, deleted by `stop()`). */
  dir?: string;
  /** Extra variables for every role, and for one role; they win over the cluster's own. */
  env?: Record<string, string>;
  roleEnv?: Partial<Record<Role, Record<string, string>>>;
  /** Shared secrets; generated when not given. */
  ingestToken?: string;
  authSecret?: string;
  /** What Caddy's active health check asks the servers (default `/health`, as deploy/Caddyfile). */
  healthUri?: string;
  /** How long a process may take to answer its health check after spawn (default 120 s). */
  startTimeoutMs?: number;
}

export interface ClusterProcess {
  readonly role: Role | 'caddy';
  /** `server-1`, `notifier-2`, `client-1`, `caddy`. */
  readonly name: string;
  /** The port it listens on: the API for a server, /health and /metrics for a notifier or client. */
  readonly port: number;
  /** Its DATA_DIR (and working directory); Caddy's HOME. */
  readonly dataDir: string;
  readonly logFile: string;
  pid(): number | undefined;
  running(): boolean;
  /** Sends the signal (default SIGKILL) and waits for the exit; resolves with the code or signal. */
  kill(signal?: NodeJS.Signals): Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
  /** Spawns it again (same port, folder and environment) and waits until its health check answers. */
  start(): Promise<void>;
  /** Resident memory in bytes (VmRSS), undefined when not running. */
  rssBytes(): number | undefined;
  /** The last 64 KB of its output. */
  output(): string;
}

export interface Cluster {
  /** Caddy's address: what people, clients and tests use. */
  readonly url: string;
  readonly ingestToken: string;
  readonly authSecret: string;
  readonly dir: string;
  readonly caddy: ClusterProcess;
  readonly servers: ClusterProcess[];
  readonly notifiers: ClusterProcess[];
  readonly clients: ClusterProcess[];
  all(): ClusterProcess[];
  /** SIGTERM to every role, SIGKILL to those still running after their grace, then Caddy. */
  stop(): Promise<Record<string, number | string>>;
}

const OUTPUT_TAIL = 64 * 1024;
const SHUTDOWN_TIMEOUT_S = 10;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function answers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    async (r) => {
      await r.body?.cancel();
      return r.status === 200;
    },
    () => false,
  );
}

/** Children to kill if this process exits without stopping them (a test runner torn down, Ctrl-C). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess) {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

function managedProcess(spec: {
  role: Role | 'caddy';
  name: string;
  port: number;
  cwd: string;
  logFile: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  healthUrl: string;
  startTimeoutMs: number;
}): ClusterProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<number | string> = Promise.resolve('not started');
  let tail = '';

  const spawnIt = () => {
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    log.on('error', () => {});
    const c = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(c);
    const write = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-OUTPUT_TAIL);
      log.write(chunk);
    };
    c.stdout?.on('data', write);
    c.stderr?.on('data', write);
    c.once('close', () => log.end());
    exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    child = c;
  };
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const self: ClusterProcess = {
    role: spec.role,
    name: spec.name,
    port: spec.port,
    dataDir: spec.cwd,
    logFile: spec.logFile,
    pid: () => (running() ? child?.pid : undefined),
    running,
    async kill(signal = 'SIGKILL') {
      if (running()) child!.kill(signal);
      return exited;
    },
    async stop(graceMs = (SHUTDOWN_TIMEOUT_S + 5) * 1000) {
      if (!running()) return exited;
      child!.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async start() {
      if (running()) throw new Error(`${spec.name} is already running`);
      spawnIt();
      const deadline = Date.now() + spec.startTimeoutMs;
      while (!(await answers(spec.healthUrl))) {
        if (!running())
          throw new Error(`${spec.name} exited with ${await exited} before answering:\n${tail}`);
        if (Date.now() > deadline) {
          await self.kill();
          throw new Error(
            `${spec.name}: no answer from ${spec.healthUrl} in ${spec.startTimeoutMs} ms:\n${tail}`,
          );
        }
        await sleep(100);
      }
    },
    rssBytes() {
      const pid = self.pid();
      if (pid === undefined) return undefined;
      try {
        const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    output: () => tail,
  };
  return self;
}

/**
 * The Caddyfile of the cluster: plain HTTP on loopback (the TLS side is deploy/Caddyfile's, tested by
 * test/caddy.e2e.test.ts), round robin over the servers. A request that fails on a dead server is tried
 * on another for up to `lb_try_duration`; `buffer_requests` keeps its body for that retry (Caddy 2.6
 * would otherwise send the retry with a consumed body and answer 502). The active check on /health
 * takes out a dead server within a second; not /ready, which fails on every server at once while the
 * shared Redis or database is away and would turn that into 503s for everything (deploy/Caddyfile
 * does the same, docs/RELIABILITY.md has the figures). No passive
 * `fail_duration`: with Caddy 2.6 the failed retry above was counted against the healthy server too,
 * leaving no upstream at all for that long.
 */
export function clusterCaddyfile(port: number, upstreams: readonly string[], healthUri = '/health'): string {
  return `{
	admin off
	auto_https off
}

http://:${port} {
	bind 127.0.0.1
	respond /metrics* 404
	reverse_proxy ${upstreams.join(' ')} {
		lb_policy round_robin
		lb_try_duration 10s
		lb_try_interval 100ms
		buffer_requests
		health_uri ${healthUri}
		health_interval 1s
		health_timeout 2s
		flush_interval -1
	}
}
`;
}

/** Starts the whole shape: servers first (they migrate), then notifiers, Caddy, and the clients. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'stockwatch-cluster-'));
  mkdirSync(dir, { recursive: true });
  const ingestToken = options.ingestToken ?? randomBytes(24).toString('base64url');
  const authSecret = options.authSecret ?? randomBytes(32).toString('base64url');
  const caddyPort = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${caddyPort}`;
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;

  const base = (name: string): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    HOST: '127.0.0.1',
    DATA_DIR: path.join(dir, name),
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_S}s`,
  });
  const backend = {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    INGEST_TOKEN: ingestToken,
    BETTER_AUTH_SECRET: authSecret,
    PUBLIC_URL: url,
  };

  const roleProcess = async (role: Role, index: number, env: Record<string, string>) => {
    const name = `${role}-${index}`;
    const port = await freePort();
    const cwd = path.join(dir, name);
    mkdirSync(cwd, { recursive: true });
    return managedProcess({
      role,
      name,
      port,
      cwd,
      logFile: path.join(dir, `${name}.log`),
      command: process.execPath,
      args: [BIN, role],
      env: {
        ...base(name),
        ...env,
        ...(role === 'server' ? { PORT: String(port) } : { METRICS_PORT: String(port) }),
        ...options.env,
        ...options.roleEnv?.[role],
      },
      healthUrl: `http://127.0.0.1:${port}/health`,
      startTimeoutMs,
    });
  };

  const servers = await Promise.all(
    Array.from({ length: options.servers }, (_, i) =>
      roleProcess('server', i + 1, {
        ...backend,
        // Only Caddy, on this machine, reaches the servers: the address it forwards is the caller's.
        TRUST_PROXY: '127.0.0.1',
        MARKET_DATA_PROVIDER: 'none',
      }),
    ),
  );
  const notifiers = await Promise.all(
    Array.from({ length: options.notifiers }, (_, i) =>
      roleProcess('notifier', i + 1, { ...backend, ...(options.smtpUrl && { SMTP_URL: options.smtpUrl }) }),
    ),
  );
  const clients = await Promise.all(
    Array.from({ length: options.clients }, (_, i) =>
      roleProcess('client', i + 1, {
        SERVER_URL: url,
        INGEST_TOKEN: ingestToken,
        REDIS_URL: options.redisUrl,
        ...(options.symbols && { SYMBOLS: options.symbols.join(',') }),
        ...(options.alphaVantageUrl
          ? {
              MARKET_DATA_PROVIDER: 'alphavantage',
              ALPHAVANTAGE_BASE_URL: options.alphaVantageUrl,
              ALPHAVANTAGE_API_KEY: 'cluster',
            }
          : { MARKET_DATA_PROVIDER: 'simulator' }),
      }),
    ),
  );

  const caddyHome = path.join(dir, 'caddy');
  mkdirSync(caddyHome, { recursive: true });
  const caddyfile = path.join(dir, 'Caddyfile');
  writeFileSync(
    caddyfile,
    clusterCaddyfile(
      caddyPort,
      servers.map((s) => `127.0.0.1:${s.port}`),
      options.healthUri,
    ),
  );
  const caddy = managedProcess({
    role: 'caddy',
    name: 'caddy',
    port: caddyPort,
    cwd: caddyHome,
    logFile: path.join(dir, 'caddy.log'),
    command: process.env.CADDY_BIN ?? 'caddy',
    args: ['run', '--config', caddyfile, '--adapter', 'caddyfile'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: caddyHome,
      XDG_DATA_HOME: path.join(caddyHome, 'data'),
      XDG_CONFIG_HOME: path.join(caddyHome, 'config'),
    },
    healthUrl: `${url}/health`,
    startTimeoutMs,
  });

  const all = () => [...servers, ...notifiers, ...clients, caddy];
  let stopped = false;
  const stop = async () => {
    const codes: Record<string, number | string> = {};
    if (stopped) return codes;
    stopped = true;
    const roles = [...clients, ...servers, ...notifiers];
    await Promise.all(
      roles.map(async (p) => {
        if (p.running()) codes[p.name] = await p.stop();
      }),
    );
    if (caddy.running()) codes.caddy = await caddy.stop(5000);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    return codes;
  };

  try {
    // The first server applies the migrations alone; the others would wait on its advisory lock anyway.
    await servers[0]?.start();
    await Promise.all(servers.slice(1).map((s) => s.start()));
    await Promise.all(notifiers.map((n) => n.start()));
    await caddy.start();
    await Promise.all(clients.map((c) => c.start()));
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, ingestToken, authSecret, dir, caddy, servers, notifiers, clients, all, stop };
}
