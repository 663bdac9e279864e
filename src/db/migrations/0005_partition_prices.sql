-- Prices become a table partitioned by month of `ts` (hand-written: Drizzle does not model partitions,
-- and its snapshot still describes `prices` exactly: same columns, same primary key). One month is one
-- table of a few million rows with its own small index, so that ingest, range queries and the hourly
-- roll-up of old months stay as cheap with years of data as with weeks. Prices of a month without a
-- partition (far past, far future) go to `prices_default`. The retention job (src/prices/retention.ts)
-- creates the partitions of the coming months; this creates those of the existing data (up to two
-- years back) and of the next two months.
ALTER TABLE "prices" RENAME TO "prices_unpartitioned";
--> statement-breakpoint
ALTER TABLE "prices_unpartitioned" RENAME CONSTRAINT "prices_pkey" TO "prices_unpartitioned_pkey";
--> statement-breakpoint
CREATE TABLE "prices" (
	"symbol" text NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"price" double precision NOT NULL,
	"open" double precision,
	"high" double precision,
	"low" double precision,
	"volume" bigint NOT NULL,
	CONSTRAINT "prices_pkey" PRIMARY KEY("symbol","ts")
) PARTITION BY RANGE ("ts");
--> statement-breakpoint
CREATE TABLE "prices_default" PARTITION OF "prices" DEFAULT;
--> statement-breakpoint
DO $$
DECLARE
  first_month timestamptz := date_trunc('month', greatest(
    coalesce((SELECT min(ts) FROM prices_unpartitioned), now()),
    now() - interval '2 years') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  last_month timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '2 months';
  m timestamptz;
BEGIN
  m := first_month;
  WHILE m <= last_month LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF prices FOR VALUES FROM (%L) TO (%L)',
      'prices_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM'), m, m + interval '1 month');
    m := m + interval '1 month';
  END LOOP;
END $$;
--> statement-breakpoint
INSERT INTO "prices" SELECT "symbol", "ts", "price", "open", "high", "low", "volume" FROM "prices_unpartitioned";
--> statement-breakpoint
DROP TABLE "prices_unpartitioned";
