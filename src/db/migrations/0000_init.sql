CREATE TABLE "prices" (
	"symbol" text NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"price" double precision NOT NULL,
	"open" double precision,
	"high" double precision,
	"low" double precision,
	"volume" bigint NOT NULL,
	CONSTRAINT "prices_pkey" PRIMARY KEY("symbol","ts")
);
--> statement-breakpoint
CREATE TABLE "symbols" (
	"symbol" text PRIMARY KEY NOT NULL,
	"last_price" double precision NOT NULL,
	"last_ts" timestamp with time zone NOT NULL,
	"prev_price" double precision,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
