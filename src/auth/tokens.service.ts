import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Database } from '../db/connect.ts';
import type { Clock } from '../shared/clock.ts';
import { NotFoundError } from '../shared/errors.ts';
import type { CurrentUser } from './current-user.ts';
import type { TokenRow, TokensRepo } from './tokens.repo.ts';

/** Marks our tokens, so that secret scanners and people can recognise one. */
export const TOKEN_PREFIX = 'sw_';
const PREFIX_SHOWN = TOKEN_PREFIX.length + 6;
const TOUCH_EVERY_MS = 60_000;

export interface TokenView {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

const view = (row: TokenRow): TokenView => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  created_at: row.createdAt.toISOString(),
  last_used_at: row.lastUsedAt?.toISOString() ?? null,
});

export function createTokensService(deps: { db: Database; repo: TokensRepo; clock: Clock }) {
  const { db, repo, clock } = deps;

  const notFound = (id: string) => new NotFoundError(`API token '${id}' not found`);

  return {
    /** The token itself is returned here and never again: only its hash is stored. */
    async create(userId: string, name: string): Promise<TokenView & { token: string }> {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const row = await repo.insert(db, {
        id: randomUUID(),
        userId,
        name,
        tokenHash: hashToken(token),
        prefix: token.slice(0, PREFIX_SHOWN),
      });
      return { ...view(row), token };
    },

    async list(userId: string): Promise<TokenView[]> {
      return (await repo.listByOwner(db, userId)).map(view);
    },

    async get(userId: string, id: string): Promise<TokenView> {
      const row = await repo.findByOwner(db, userId, id);
      if (!row) throw notFound(id);
      return view(row);
    },

    /** Deleting the row is the revocation: the next request with the token finds nothing. */
    async revoke(userId: string, id: string): Promise<void> {
      if (!(await repo.deleteByOwner(db, userId, id))) throw notFound(id);
    },

    /** The owner of a presented token, or null when it is unknown or revoked. */
    async authenticate(token: string): Promise<CurrentUser | null> {
      if (!token.startsWith(TOKEN_PREFIX)) return null;
      const found = await repo.findOwnerByHash(db, hashToken(token));
      if (!found) return null;
      const now = clock.now();
      if (!found.lastUsedAt || now.getTime() - found.lastUsedAt.getTime() > TOUCH_EVERY_MS)
        await repo.touch(db, found.tokenId, now, new Date(now.getTime() - TOUCH_EVERY_MS));
      return { id: found.id, email: found.email, name: found.name };
    },
  };
}

export type TokensService = ReturnType<typeof createTokensService>;
