import { z } from 'zod';
import { symbolSchema } from '../prices/prices.schemas.ts';

/** What a market-data client reports about itself after each round, and what the dashboard reads back. */

const instant = z.iso.datetime({ offset: true });

export const clientQuotaSchema = z
  .strictObject({
    calls_left_today: z.number().int().min(0).nullable().meta({ description: 'null: no daily cap' }),
    calls_per_day: z.number().int().min(1).nullable(),
    calls_left_this_minute: z.number().int().min(0),
    calls_per_minute: z.number().int().min(1),
    day_resets_at: instant.meta({ description: 'New York midnight, when the daily count starts again' }),
    blocked_until: instant
      .nullable()
      .meta({ description: 'the provider told the client to wait until then' }),
  })
  .meta({ id: 'ClientQuota' });

export const clientSymbolStatusSchema = z
  .strictObject({
    symbol: symbolSchema,
    last_success_at: instant
      .nullable()
      .meta({ description: 'when the provider last answered for this symbol: when it was last refreshed' }),
    newest_bar_at: instant.nullable().meta({ description: 'timestamp of the newest bar fetched' }),
    error: z.string().max(1000).nullable().meta({ description: 'why the client stopped asking for it' }),
  })
  .meta({ id: 'ClientSymbolStatus' });

export const clientStatusReportSchema = z
  .strictObject({
    client_id: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/),
    host: z.string().max(255),
    provider: z.string().min(1).max(50),
    plan: z.string().max(1000),
    spooled: z
      .number()
      .int()
      .min(0)
      .meta({ description: 'bars fetched but not yet acknowledged by a server' }),
    quota: clientQuotaSchema.nullable(),
    problem: z.string().max(2000).nullable(),
    sharing: z
      .strictObject({
        member_id: z.string().max(200).meta({ description: "the client's id among those sharing Redis" }),
        members: z
          .array(z.string().max(200))
          .max(1000)
          .meta({ description: 'the clients alive, as this one last saw them' }),
      })
      .optional()
      .meta({
        description:
          'present when clients split the symbols through Redis: `symbols` then lists only the ones this client fetches',
      }),
    symbols: z.array(clientSymbolStatusSchema).max(10_000),
  })
  .meta({ id: 'ClientStatusReport' });
export type ClientStatusReport = z.output<typeof clientStatusReportSchema>;

export const clientStatusSchema = clientStatusReportSchema
  .extend({ reported_at: z.string() })
  .meta({ id: 'ClientStatus' });
export type ClientStatus = z.output<typeof clientStatusSchema>;

export const symbolRefreshSchema = clientSymbolStatusSchema
  .extend({ client_id: z.string() })
  .meta({ id: 'SymbolRefresh' });
export type SymbolRefresh = z.output<typeof symbolRefreshSchema>;

export const clientStatusListSchema = z.object({
  clients: z.array(clientStatusSchema),
  symbols: z
    .array(symbolRefreshSchema)
    .meta({ description: 'per symbol, the most recent refresh reported by any client' }),
});
export type ClientStatusList = z.output<typeof clientStatusListSchema>;
