import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Executor } from '../db/connect.ts';
import { apiTokens, user } from './auth.schema.ts';

export interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const listed = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
};

/** Every query that takes a token id also takes its owner: another user's token is simply not found. */
export function createTokensRepo() {
  return {
    async insert(
      ex: Executor,
      row: { id: string; userId: string; name: string; tokenHash: string; prefix: string },
    ): Promise<TokenRow> {
      const [inserted] = await ex.insert(apiTokens).values(row).returning(listed);
      return inserted!;
    },

    async listByOwner(ex: Executor, userId: string): Promise<TokenRow[]> {
      return ex
        .select(listed)
        .from(apiTokens)
        .where(eq(apiTokens.userId, userId))
        .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
    },

    async findByOwner(ex: Executor, userId: string, id: string): Promise<TokenRow | undefined> {
      const [row] = await ex
        .select(listed)
        .from(apiTokens)
        .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)));
      return row;
    },

    async deleteByOwner(ex: Executor, userId: string, id: string): Promise<boolean> {
      const deleted = await ex
        .delete(apiTokens)
        .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)))
        .returning({ id: apiTokens.id });
      return deleted.length > 0;
    },

    /** The token's owner, found through the unique index on the hash. */
    async findOwnerByHash(ex: Executor, tokenHash: string) {
      const [row] = await ex
        .select({
          tokenId: apiTokens.id,
          lastUsedAt: apiTokens.lastUsedAt,
          id: user.id,
          email: user.email,
          name: user.name,
        })
        .from(apiTokens)
        .innerJoin(user, eq(user.id, apiTokens.userId))
        .where(eq(apiTokens.tokenHash, tokenHash));
      return row;
    },

    /** Records use at most once per `before`, so that busy tokens do not write on every request. */
    async touch(ex: Executor, id: string, now: Date, before: Date): Promise<void> {
      await ex
        .update(apiTokens)
        .set({ lastUsedAt: now })
        .where(and(eq(apiTokens.id, id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, before))));
    },
  };
}

export type TokensRepo = ReturnType<typeof createTokensRepo>;
