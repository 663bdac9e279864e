import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../shared/errors.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The token of `Authorization: Bearer <token>`, or undefined for any other header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
}

/** True when `token` is the ingest token; compared in constant time. */
export function createIngestTokenMatcher(ingestToken: string) {
  const expected = digest(ingestToken);
  return (token: string | undefined): boolean =>
    token !== undefined && timingSafeEqual(digest(token), expected);
}

interface HasHeaders {
  headers: { authorization?: string | undefined };
}

/**
 * The ingest token as the HTTP layer asks about it: the rate limit, the auth plugin and the ingest
 * routes all want to know, and the answer is hashed once per request and remembered on it.
 */
export function createIngestAuth(ingestToken: string) {
  const matches = createIngestTokenMatcher(ingestToken);
  const answers = new WeakMap<HasHeaders, boolean>();
  const isIngest = (request: HasHeaders): boolean => {
    let known = answers.get(request);
    if (known === undefined) {
      known = matches(bearerToken(request.headers.authorization));
      answers.set(request, known);
    }
    return known;
  };
  return {
    isIngest,
    /** Throws 401 unless the request carries `Authorization: Bearer <ingest token>`. */
    check(request: HasHeaders): void {
      if (isIngest(request)) return;
      if (!bearerToken(request.headers.authorization))
        throw new UnauthorizedError('Missing ingest token: send Authorization: Bearer <INGEST_TOKEN>');
      throw new UnauthorizedError('Invalid ingest token');
    },
  };
}

export type IngestAuth = ReturnType<typeof createIngestAuth>;
