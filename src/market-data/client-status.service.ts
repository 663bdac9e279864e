import type { Database } from '../db/connect.ts';
import type { Clock } from '../shared/clock.ts';
import type { ClientStatusRepo } from './client-status.repo.ts';
import type { ClientStatusList, ClientStatusReport, SymbolRefresh } from './client-status.schemas.ts';

/**
 * The last report of each market-data client, so that the dashboard can show when each symbol was last
 * refreshed and how much provider quota is left. Kept in the database, so every server behind a load
 * balancer shows every client.
 */
export function createClientStatusService(deps: {
  db: Database;
  repo: ClientStatusRepo;
  clock: Clock;
  maxClients?: number;
}) {
  const maxClients = deps.maxClients ?? 1000;

  return {
    async record(report: ClientStatusReport): Promise<void> {
      await deps.repo.upsert(deps.db, report, deps.clock.now());
      await deps.repo.prune(deps.db, maxClients);
    },

    async list(): Promise<ClientStatusList> {
      const clients = await deps.repo.latest(deps.db, maxClients);
      const bySymbol = new Map<string, SymbolRefresh>();
      for (const client of clients) {
        for (const s of client.symbols) {
          const known = bySymbol.get(s.symbol);
          if (!known || (s.last_success_at ?? '') > (known.last_success_at ?? ''))
            bySymbol.set(s.symbol, { ...s, client_id: client.client_id });
        }
      }
      const symbols = [...bySymbol.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
      return { clients, symbols };
    },
  };
}

export type ClientStatusService = ReturnType<typeof createClientStatusService>;
