import { and, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/connect.ts';
import { mailbox, userSettings } from '../db/schema-notifications.ts';
import { token } from '../shared/secrets.ts';

export type MailboxMessage = typeof mailbox.$inferSelect;

export function createMailboxRepo() {
  return {
    /** A message sent twice (same Message-ID) is stored once. */
    async store(ex: Executor, message: Omit<MailboxMessage, 'id' | 'createdAt'>): Promise<void> {
      await ex.insert(mailbox).values(message).onConflictDoNothing({ target: mailbox.messageId });
    },
    async listForUser(ex: Executor, userId: string, limit: number): Promise<MailboxMessage[]> {
      return ex
        .select()
        .from(mailbox)
        .where(eq(mailbox.userId, userId))
        .orderBy(desc(mailbox.createdAt), desc(mailbox.id))
        .limit(limit);
    },
    async findForUser(ex: Executor, userId: string, id: string): Promise<MailboxMessage | undefined> {
      const [row] = await ex
        .select()
        .from(mailbox)
        .where(and(eq(mailbox.userId, userId), eq(mailbox.id, id)));
      return row;
    },
  };
}

export function createUserSettingsRepo() {
  return {
    /** The user's webhook signing secret, created on first use. */
    async webhookSecret(ex: Executor, userId: string): Promise<string> {
      const [row] = await ex
        .insert(userSettings)
        .values({ userId, webhookSecret: `whsec_${token()}` })
        .onConflictDoUpdate({ target: userSettings.userId, set: { userId: sql`excluded.user_id` } })
        .returning({ secret: userSettings.webhookSecret });
      return row!.secret;
    },
    async rotateWebhookSecret(ex: Executor, userId: string): Promise<string> {
      const secret = `whsec_${token()}`;
      await ex
        .insert(userSettings)
        .values({ userId, webhookSecret: secret })
        .onConflictDoUpdate({
          target: userSettings.userId,
          set: { webhookSecret: secret, updatedAt: sql`now()` },
        });
      return secret;
    },
  };
}
