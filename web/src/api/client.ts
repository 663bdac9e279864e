import type { Problem } from './types';

/** A response other than 2xx, with the problem document the API sent (RFC 9457) when there is one. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    message: string,
  ) {
    super(message);
  }

  /** The 422's field problems by JSON pointer (`/threshold`, `/channels/1/url`). */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem?.errors ?? [])
      out[e.pointer] = out[e.pointer] ? `${out[e.pointer]}; ${e.detail}` : e.detail;
    return out;
  }
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One call to the API of this origin. The session cookie goes along by itself; writes carry a JSON body
 * (an empty object when there is nothing to say, as the routes that take none expect).
 */
export async function api<T>(
  method: Method,
  path: string,
  options: { body?: unknown; query?: Record<string, string | number | undefined>; signal?: AbortSignal } = {},
): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(options.query ?? {}))
    if (v !== undefined && v !== '') query.set(k, String(v));
  const url = query.size > 0 ? `${path}?${query}` : path;
  const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(hasBody && { 'content-type': 'application/json' }) },
      ...(hasBody && { body: JSON.stringify(options.body ?? {}) }),
      ...(options.signal && { signal: options.signal }),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(
      0,
      undefined,
      'The server cannot be reached. Check your connection; retrying shortly.',
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data: unknown = text ? safeJson(text) : undefined;
  if (response.ok) return data as T;
  const problem = isProblem(data) ? data : undefined;
  throw new ApiError(
    response.status,
    problem,
    problem?.detail ?? `${response.status} ${response.statusText}`.trim(),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isProblem(data: unknown): data is Problem {
  return typeof data === 'object' && data !== null && 'status' in data && 'detail' in data;
}

/** A message fit for a person: what went wrong, in the API's words. */
export function errorMessage(error: unknown): string {
  if (isApiError(error, 429)) return `${error.message}. Please wait a moment.`;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
