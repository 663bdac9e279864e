import { desc, sql } from 'drizzle-orm';
import type { Executor } from '../db/connect.ts';
import { clientStatus } from '../db/schema.ts';
import type { ClientStatus, ClientStatusReport } from './client-status.schemas.ts';

export function createClientStatusRepo() {
  return {
    /** One row per client: a report replaces the client's previous one. */
    async upsert(ex: Executor, report: ClientStatusReport, at: Date): Promise<void> {
      await ex
        .insert(clientStatus)
        .values({ clientId: report.client_id, report, reportedAt: at })
        .onConflictDoUpdate({
          target: clientStatus.clientId,
          set: { report: sql`excluded.report`, reportedAt: sql`excluded.reported_at` },
        });
    },

    /** The most recently heard clients first. */
    async latest(ex: Executor, limit: number): Promise<ClientStatus[]> {
      const rows = await ex.select().from(clientStatus).orderBy(desc(clientStatus.reportedAt)).limit(limit);
      return rows.map((r) => ({
        ...(r.report as ClientStatusReport),
        reported_at: r.reportedAt.toISOString(),
      }));
    },

    /** Forgets clients beyond the newest `keep`: a token holder could otherwise invent ids without end. */
    async prune(ex: Executor, keep: number): Promise<void> {
      await ex.execute(
        sql`DELETE FROM client_status WHERE client_id NOT IN (
              SELECT client_id FROM client_status ORDER BY reported_at DESC LIMIT ${keep})`,
      );
    },
  };
}

export type ClientStatusRepo = ReturnType<typeof createClientStatusRepo>;
