import { and, asc, eq, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../db/connect.ts';
import { userChannels, userSettings } from '../db/schema-notifications.ts';
import { isUuid } from '../notifications/notifications.repo.ts';
import { token } from '../shared/secrets.ts';
import { DEFAULT_GROUP_WINDOW_SECONDS } from './deliveries.repo.ts';
import type { QuietHours } from './quiet-hours.ts';

export type UserChannelRow = typeof userChannels.$inferSelect;

/** Saved channels and the notification settings of a user; every query takes the owner. */
export function createUserChannelsRepo() {
  return {
    async insert(
      ex: Executor,
      row: Pick<UserChannelRow, 'userId' | 'type' | 'name' | 'config'>,
    ): Promise<UserChannelRow> {
      const [created] = await ex.insert(userChannels).values(row).returning();
      return created!;
    },

    async listForUser(ex: Executor, userId: string): Promise<UserChannelRow[]> {
      return ex
        .select()
        .from(userChannels)
        .where(eq(userChannels.userId, userId))
        .orderBy(asc(userChannels.createdAt), asc(userChannels.id));
    },

    async countForUser(ex: Executor, userId: string): Promise<number> {
      const [row] = await ex
        .select({ n: sql<number>`count(*)::int` })
        .from(userChannels)
        .where(eq(userChannels.userId, userId));
      return row?.n ?? 0;
    },

    async findForUser(ex: Executor, userId: string, id: string): Promise<UserChannelRow | undefined> {
      if (!isUuid(id)) return undefined;
      const [row] = await ex
        .select()
        .from(userChannels)
        .where(and(eq(userChannels.id, id), eq(userChannels.userId, userId)));
      return row;
    },

    async updateForUser(
      ex: Executor,
      userId: string,
      id: string,
      changes: Partial<Pick<UserChannelRow, 'name' | 'config'>>,
    ): Promise<UserChannelRow | undefined> {
      if (!isUuid(id)) return undefined;
      const [row] = await ex
        .update(userChannels)
        .set({ ...changes, updatedAt: sql`now()` })
        .where(and(eq(userChannels.id, id), eq(userChannels.userId, userId)))
        .returning();
      return row;
    },

    async deleteForUser(ex: Executor, userId: string, id: string): Promise<boolean> {
      if (!isUuid(id)) return false;
      const rows = await ex
        .delete(userChannels)
        .where(and(eq(userChannels.id, id), eq(userChannels.userId, userId)))
        .returning({ id: userChannels.id });
      return rows.length > 0;
    },

    /** How many of the user's notifications send through the channel. */
    async countUses(ex: Executor, userId: string, id: string): Promise<number> {
      const rows = await queryRows<{ n: number }>(
        ex,
        sql`SELECT count(*)::int AS n FROM notifications
            WHERE user_id = ${userId} AND channels @> ${JSON.stringify([{ type: 'channel', id }])}::jsonb`,
      );
      return rows[0]?.n ?? 0;
    },

    async settings(
      ex: Executor,
      userId: string,
    ): Promise<{
      groupWindowSeconds: number;
      quiet: Omit<QuietHours, 'mode'> | null;
      mode: 'hold' | 'drop';
    }> {
      const [row] = await ex.select().from(userSettings).where(eq(userSettings.userId, userId));
      return {
        groupWindowSeconds: row?.groupWindowSeconds ?? DEFAULT_GROUP_WINDOW_SECONDS,
        quiet:
          row?.quietStart && row.quietEnd && row.quietTimeZone
            ? { start: row.quietStart, end: row.quietEnd, timeZone: row.quietTimeZone }
            : null,
        mode: row?.quietMode ?? 'hold',
      };
    },

    /** The row may not exist yet: it is created with a webhook secret, as on first use of that. */
    async saveSettings(
      ex: Executor,
      userId: string,
      s: { groupWindowSeconds: number; quiet: QuietHours | null },
    ): Promise<void> {
      const values = {
        groupWindowSeconds: s.groupWindowSeconds,
        quietStart: s.quiet?.start ?? null,
        quietEnd: s.quiet?.end ?? null,
        quietTimeZone: s.quiet?.timeZone ?? null,
        quietMode: s.quiet?.mode ?? 'hold',
      };
      await ex
        .insert(userSettings)
        .values({ userId, webhookSecret: `whsec_${token()}`, ...values })
        .onConflictDoUpdate({ target: userSettings.userId, set: { ...values, updatedAt: sql`now()` } });
    },
  };
}

export type UserChannelsRepo = ReturnType<typeof createUserChannelsRepo>;

/** The account a test message goes to (email channels use its address). */
export async function accountOf(ex: Executor, userId: string) {
  const rows = await queryRows<{ email: string | null; name: string | null }>(
    ex,
    sql`SELECT email, name FROM "user" WHERE id = ${userId}`,
  );
  return rows[0] ?? { email: null, name: null };
}
