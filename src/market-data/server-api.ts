import type { ClientStatusReport } from './client-status.schemas.ts';
import type { Bar } from './types.ts';

/**
 * The client's side of the server's public API: `POST /stocks` and `POST /client-status`, with the
 * ingest token. Answers are sorted into what the posting loop must do differently.
 */

/** The server did not take the batch, and will not until something changes on its side or ours. */
export class PostFailedError extends Error {
  override name = 'PostFailedError';
  readonly kind: 'unreachable' | 'unauthorized' | 'server';
  /** Seconds the server asked us to wait (HTTP `Retry-After`), if it did. */
  readonly retryAfterS: number | undefined;

  constructor(
    message: string,
    kind: PostFailedError['kind'],
    options?: ErrorOptions & { retryAfterS?: number },
  ) {
    super(message, options);
    this.kind = kind;
    this.retryAfterS = options?.retryAfterS;
  }
}

export type PostOutcome =
  | { ok: true; inserted: number; duplicates: number }
  /** 422: these bars (by index into the batch) will never be accepted; `reasons` is parallel to it. */
  | { ok: false; rejected: number[]; reasons: string[]; detail: string };

export interface ServerApi {
  readonly serverUrl: string;
  postBars(bars: readonly Bar[], signal?: AbortSignal): Promise<PostOutcome>;
  postStatus(report: ClientStatusReport, signal?: AbortSignal): Promise<void>;
}

export function createServerApi(options: {
  serverUrl: string;
  ingestToken: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}): ServerApi {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${options.ingestToken}`,
  };

  async function send(path: string, body: unknown, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(timeoutMs);
    const url = new URL(path, options.serverUrl);
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      return { response, text: await response.text() };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = timeout.aborted ? `no answer within ${timeoutMs} ms` : describe(error);
      throw new PostFailedError(`${url.origin} unreachable: ${reason}`, 'unreachable', { cause: error });
    }
  }

  function failure(status: number, text: string, headersIn: Headers, what: string): PostFailedError {
    const detail = problemDetail(text);
    if (status === 401 || status === 403)
      return new PostFailedError(
        `the server refused the ingest token on ${what} (${status}: ${detail}): set INGEST_TOKEN to the ` +
          "server's token (INGEST_TOKEN there, or ingestToken in its DATA_DIR/secrets.json)",
        'unauthorized',
      );
    const retryAfter = Number(headersIn.get('retry-after'));
    return new PostFailedError(`the server answered ${what} with ${status}: ${detail}`, 'server', {
      ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterS: retryAfter }),
    });
  }

  return {
    serverUrl: options.serverUrl,

    async postBars(bars, signal) {
      const { response, text } = await send('/stocks', bars, signal);
      if (response.status === 201) {
        const body = parseJson(text) as { inserted?: unknown; duplicates?: unknown } | undefined;
        const inserted = typeof body?.inserted === 'number' ? body.inserted : bars.length;
        const duplicates = typeof body?.duplicates === 'number' ? body.duplicates : 0;
        return { ok: true, inserted, duplicates };
      }
      if (response.status === 422) {
        const { indexes, reasons } = rejectedIndexes(text, bars.length);
        return { ok: false, rejected: indexes, reasons, detail: problemDetail(text) };
      }
      throw failure(response.status, text, response.headers, 'POST /stocks');
    },

    async postStatus(report, signal) {
      const { response, text } = await send('/client-status', report, signal);
      if (response.status !== 204 && response.status !== 200)
        throw failure(response.status, text, response.headers, 'POST /client-status');
    },
  };
}

/**
 * Which bars of a batch a 422 problem document names: its `errors[].pointer` read `/3/price` for the
 * fourth bar. Indexes are unique and ascending; empty when the problem names no bar.
 */
function rejectedIndexes(text: string, size: number): { indexes: number[]; reasons: string[] } {
  const body = parseJson(text) as { errors?: Array<{ pointer?: unknown; detail?: unknown }> } | undefined;
  const byIndex = new Map<number, string[]>();
  for (const problem of body?.errors ?? []) {
    const match = typeof problem.pointer === 'string' ? /^\/(\d+)(\/.*)?$/.exec(problem.pointer) : null;
    if (!match) continue;
    const index = Number(match[1]);
    if (index >= size) continue;
    const reasons = byIndex.get(index) ?? [];
    reasons.push(`${match[2] ?? '/'} ${String(problem.detail ?? 'invalid')}`.trim());
    byIndex.set(index, reasons);
  }
  const indexes = [...byIndex.keys()].sort((a, b) => a - b);
  return { indexes, reasons: indexes.map((i) => byIndex.get(i)!.join('; ')) };
}

function problemDetail(text: string): string {
  const body = parseJson(text) as { detail?: unknown } | undefined;
  return typeof body?.detail === 'string' ? body.detail : text.slice(0, 200) || '(empty body)';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    const detail = typeof cause?.code === 'string' ? cause.code : (cause?.message as string | undefined);
    return detail ? `${error.message} (${detail})` : error.message;
  }
  return String(error);
}
