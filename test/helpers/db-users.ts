import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Runtime } from '../../src/runtime.ts';

/**
 * An account row written straight into the database, for tests of evaluation and delivery that are
 * not about signing in. Tests of the HTTP API sign up through the real auth routes (users.ts).
 */
export async function insertUser(runtime: Runtime, email: string, name = email.split('@')[0]!) {
  const id = randomUUID();
  await runtime.database.db.execute(
    sql`INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at)
        VALUES (${id}, ${name}, ${email}, true, now(), now())`,
  );
  return { id, email, name };
}
