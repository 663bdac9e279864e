import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually, REPO_ROOT } from './process.ts';

/**
 * The real deploy/Caddyfile run by the real Caddy (`tls internal`) on the given ports, in front of
 * `upstream`. Resolves once HTTPS answers /health, with the internal CA's root certificate to trust.
 */
export async function startCaddy(options: {
  upstream: string;
  httpPort: number;
  httpsPort: number;
  env?: Record<string, string>;
  timeoutMs?: number;
}) {
  // Caddy keeps its CA and certificates under HOME; a throw-away one per run.
  const home = mkdtempSync(path.join(tmpdir(), 'stockwatch-caddy-'));
  let log = '';
  const caddy = spawn(
    'caddy',
    ['run', '--config', path.join(REPO_ROOT, 'deploy/Caddyfile'), '--adapter', 'caddyfile'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        XDG_DATA_HOME: path.join(home, 'data'),
        XDG_CONFIG_HOME: path.join(home, 'config'),
        HTTP_PORT: String(options.httpPort),
        HTTPS_PORT: String(options.httpsPort),
        UPSTREAMS: options.upstream,
        CADDY_ADMIN: 'off',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  caddy.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  caddy.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const stop = async () => {
    if (caddy.exitCode === null && caddy.signalCode === null) {
      const exited = new Promise((resolve) => caddy.once('exit', resolve));
      caddy.kill('SIGTERM');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  };

  const rootCert = path.join(home, 'data/caddy/pki/authorities/local/root.crt');
  let ca = Buffer.alloc(0);
  try {
    await eventually(async () => {
      if (caddy.exitCode !== null) throw new Error(`caddy exited:\n${log}`);
      if (!existsSync(rootCert)) return false;
      ca = readFileSync(rootCert);
      return new Promise<boolean>((resolve) =>
        https
          .get(`https://localhost:${options.httpsPort}/health`, { ca }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          })
          .on('error', () => resolve(false)),
      );
    }, options.timeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { ca, log: () => log, stop };
}
