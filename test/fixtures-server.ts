import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Serves the shared Alpha Vantage fixtures over a real local HTTP server, so that tests exercise the
 * client's fetch, timeouts and retries and can count the calls it makes.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// In CI the repository is a clone with `shared/` beside it, as in the working tree.
export const ALPHAVANTAGE_FIXTURES = path.resolve(repoRoot, '../shared/fixtures/alphavantage');

export function fixtureText(name: string): string {
  return readFileSync(path.join(ALPHAVANTAGE_FIXTURES, name), 'utf8');
}

export function readFixture(name: string): unknown {
  return JSON.parse(fixtureText(name));
}

/** What to answer one request with. */
export type FixtureReply =
  | { file: string }
  | { json: unknown }
  | { status: number; body?: string }
  /** Never answer (the client's timeout must fire). */
  | { hang: true }
  /** Drop the connection without an answer (a network error for the client). */
  | { destroy: true };

export type FixtureHandler = (url: URL, index: number) => FixtureReply;

export interface FixtureServer {
  /** `http://127.0.0.1:<port>`, to be used as the provider's base URL. */
  readonly origin: string;
  /** Every request received, in order. */
  readonly requests: URL[];
  /** Replaces the handler for the following requests. */
  handle(handler: FixtureHandler): void;
  close(): Promise<void>;
}

export async function startFixtureServer(handler: FixtureHandler): Promise<FixtureServer> {
  let current = handler;
  const requests: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixtures.local');
    requests.push(url);
    const reply = current(url, requests.length - 1);
    if ('hang' in reply) return;
    if ('destroy' in reply) {
      req.socket.destroy();
      return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'text/plain' }).end(reply.body ?? '');
      return;
    }
    const body = 'file' in reply ? fixtureText(reply.file) : JSON.stringify(reply.json);
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      current = next;
    },
    close() {
      // Hanging requests would keep `close` waiting forever.
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
