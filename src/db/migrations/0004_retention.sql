CREATE TABLE "scheduled_jobs" (
	"name" text PRIMARY KEY NOT NULL,
	"done_until" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_run_by" text
);
