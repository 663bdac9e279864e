import type { Clock } from '../shared/clock.ts';
import type {
  ClientStatus,
  ClientStatusList,
  ClientStatusReport,
  SymbolRefresh,
} from './client-status.schemas.ts';

/**
 * The last report of each market-data client, so that the dashboard can show when each symbol was last
 * refreshed and how much provider quota is left.
 *
 * Kept in this server's memory for now: clients report after every round and at least once a minute,
 * so a restarted server is up to date again within a minute. Behind a load balancer each server only
 * knows the clients that happened to report to it; the `client_status` table (pending migration,
 * docs/pending-migration-client-status.sql) will replace this store.
 */
export function createClientStatusService(deps: { clock: Clock; maxClients?: number }) {
  const maxClients = deps.maxClients ?? 1000;
  const reports = new Map<string, ClientStatus>();

  return {
    record(report: ClientStatusReport): void {
      // Re-inserting moves the client to the end, so the map stays ordered by last report.
      reports.delete(report.client_id);
      reports.set(report.client_id, { ...report, reported_at: deps.clock.now().toISOString() });
      // A token holder could invent ids without end; forget the longest silent ones.
      while (reports.size > maxClients) reports.delete(reports.keys().next().value!);
    },

    list(): ClientStatusList {
      const clients = [...reports.values()].reverse();
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
