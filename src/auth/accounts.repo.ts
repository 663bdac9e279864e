import { eq, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import { setup, user } from './auth.schema.ts';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'user';
  createdAt: Date;
}

const columns = {
  id: user.id,
  email: user.email,
  name: user.name,
  role: user.role,
  createdAt: user.createdAt,
};

export function createAccountsRepo() {
  return {
    async anyUserExists(ex: Executor): Promise<boolean> {
      const rows = await ex.select({ one: sql<number>`1` }).from(user).limit(1);
      return rows.length > 0;
    },

    /**
     * Claims the one `setup` row for `userId` and makes that user admin, in one statement: true for
     * the first account ever created, false for every later one (the insert finds the row taken).
     */
    async claimFirstAdmin(ex: Executor, userId: string): Promise<boolean> {
      const rows = await queryRows(
        ex,
        sql`WITH claimed AS (
              INSERT INTO ${setup} (id, admin_user_id) VALUES (1, ${userId})
              ON CONFLICT (id) DO NOTHING RETURNING admin_user_id)
            UPDATE ${user} SET role = 'admin' WHERE id IN (SELECT admin_user_id FROM claimed)
            RETURNING id`,
      );
      return rows.length > 0;
    },

    async findById(ex: Executor, id: string): Promise<UserRow | undefined> {
      const [row] = await ex.select(columns).from(user).where(eq(user.id, id));
      return row;
    },

    async findByEmail(ex: Executor, email: string): Promise<UserRow | undefined> {
      const [row] = await ex.select(columns).from(user).where(eq(user.email, email.toLowerCase()));
      return row;
    },
  };
}

export type AccountsRepo = ReturnType<typeof createAccountsRepo>;
