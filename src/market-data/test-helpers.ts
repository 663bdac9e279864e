import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientLog } from './client.ts';
import type { ClientStatusReport } from './client-status.schemas.ts';
import type { Bar, PriceProvider, ProviderStatus } from './types.ts';

/**
 * Test doubles for the client's unit tests: a scripted provider, a log that remembers, and a small
 * HTTP server that speaks the ingest contract (201 with counts, problem documents) and can be made to
 * drop connections, as a stopped server would.
 */

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

export function memoryLog(): ClientLog & { lines: LogLine[]; messages(level?: LogLine['level']): string[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => lines.filter((l) => !level || l.level === level).map((l) => l.message),
  };
}

export function bar(symbol: string, minute: number, price = 100 + minute): Bar {
  return {
    symbol,
    timestamp: new Date(Date.UTC(2025, 2, 10, 14, minute)).toISOString(),
    price,
    volume: 1000 + minute,
  };
}

/** Hands out the queued answers one per poll, then nothing. */
export function scriptedProvider(
  rounds: Bar[][],
  extra: Partial<PriceProvider> & { delayMs?: number; statusValue?: ProviderStatus } = {},
): PriceProvider & { polls: number; resumedFrom: Record<string, string>[] } {
  const queue = [...rounds];
  const provider = {
    name: 'scripted',
    polls: 0,
    resumedFrom: [] as Record<string, string>[],
    describePlan: (symbols: readonly string[]) => `scripted: ${symbols.length} symbols`,
    async poll() {
      provider.polls += 1;
      return queue.shift() ?? [];
    },
    nextPollDelayMs: () => extra.delayMs ?? 10,
    resume(newest: Readonly<Record<string, string>>) {
      provider.resumedFrom.push({ ...newest });
    },
    ...(extra.statusValue && { status: async () => extra.statusValue! }),
    ...extra,
  };
  return provider;
}

export type IngestReply =
  | { kind: 'store' }
  | { kind: 'drop' }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> };

export interface FakeIngestServer {
  readonly url: string;
  /** Stored bars, in the order they arrived, each (symbol, timestamp) once. */
  readonly stored: Bar[];
  /** Every POST /stocks body, duplicates and refused ones included. */
  readonly posts: Bar[][];
  readonly statusReports: ClientStatusReport[];
  readonly authorizations: (string | undefined)[];
  /** Decides the answer to each POST /stocks. */
  reply(decide: (bars: Bar[]) => IngestReply): void;
  close(): Promise<void>;
}

export async function startFakeIngestServer(): Promise<FakeIngestServer> {
  const stored: Bar[] = [];
  const keys = new Set<string>();
  const posts: Bar[][] = [];
  const statusReports: ClientStatusReport[] = [];
  const authorizations: (string | undefined)[] = [];
  let decide: (bars: Bar[]) => IngestReply = () => ({ kind: 'store' });

  const server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)) || 'null') as unknown;
    authorizations.push(req.headers.authorization);
    if (req.url === '/client-status') {
      statusReports.push(body as ClientStatusReport);
      res.writeHead(204).end();
      return;
    }
    const bars = body as Bar[];
    posts.push(bars);
    const answer = decide(bars);
    if (answer.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (answer.kind === 'status') {
      res
        .writeHead(answer.status, { 'content-type': 'application/problem+json', ...answer.headers })
        .end(JSON.stringify(answer.body ?? { detail: `status ${answer.status}` }));
      return;
    }
    let inserted = 0;
    for (const b of bars) {
      const key = `${b.symbol}@${b.timestamp}`;
      if (keys.has(key)) continue;
      keys.add(key);
      stored.push(b);
      inserted++;
    }
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', inserted, duplicates: bars.length - inserted }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stored,
    posts,
    statusReports,
    authorizations,
    reply(next) {
      decide = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Polls `check` until it holds or `timeoutMs` passes. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
