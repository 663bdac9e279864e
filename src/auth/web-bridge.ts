import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from '../http/errors.ts';
import { toHeaders } from './auth.plugin.ts';

/** Set by us from `request.ip` (which honours TRUST_PROXY); a value sent by the client is replaced. */
export const CLIENT_IP_HEADER = 'x-stockwatch-client-ip';

const HOP_BY_HOP = ['host', 'content-length', 'connection', 'transfer-encoding', 'x-forwarded-for'];

/**
 * The Fetch API request better-auth's handler takes. Its URL carries the Host the caller reached, so
 * that better-auth's origin checks see the same origin ours do; the body is the one our route schema
 * already validated, never the raw bytes.
 */
export function toWebRequest(
  request: FastifyRequest,
  publicUrl: string | undefined,
  body?: unknown,
): Request {
  const url = new URL(request.url, publicUrl ?? `http://${request.host}`);
  const headers = toHeaders(request);
  for (const name of HOP_BY_HOP) headers.delete(name);
  headers.set(CLIENT_IP_HEADER, request.ip);
  const withBody = body !== undefined && request.method !== 'GET' && request.method !== 'HEAD';
  if (withBody) headers.set('content-type', 'application/json');
  return new Request(url, {
    method: request.method,
    headers,
    ...(withBody && { body: JSON.stringify(body) }),
  });
}

/** Copies better-auth's answer onto the reply; its errors become RFC 9457 problems like ours. */
export async function sendWebResponse(reply: FastifyReply, response: Response) {
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) void reply.header('set-cookie', cookies);
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || name === 'content-length' || name === 'content-type') continue;
    void reply.header(name, value);
  }
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : undefined;
  if (response.status >= 400) {
    const detail =
      (json && typeof json.message === 'string' && json.message) || response.statusText || 'Request refused';
    return sendProblem(reply, response.status, detail);
  }
  reply.code(response.status);
  if (json !== undefined) return reply.send(json);
  return reply.send(text || undefined);
}
