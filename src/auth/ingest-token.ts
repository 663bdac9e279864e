import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '../shared/errors.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Checks `Authorization: Bearer <ingest token>` in constant time. */
export function createIngestTokenCheck(ingestToken: string) {
  const expected = digest(ingestToken);
  return (authorization: string | undefined): void => {
    const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match)
      throw new UnauthorizedError('Missing ingest token: send Authorization: Bearer <INGEST_TOKEN>');
    if (!timingSafeEqual(digest(match[1]!), expected)) throw new UnauthorizedError('Invalid ingest token');
  };
}
