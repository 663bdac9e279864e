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

/** Checks `Authorization: Bearer <ingest token>` in constant time. */
export function createIngestTokenCheck(ingestToken: string) {
  const matches = createIngestTokenMatcher(ingestToken);
  return (authorization: string | undefined): void => {
    const token = bearerToken(authorization);
    if (!token)
      throw new UnauthorizedError('Missing ingest token: send Authorization: Bearer <INGEST_TOKEN>');
    if (!matches(token)) throw new UnauthorizedError('Invalid ingest token');
  };
}
