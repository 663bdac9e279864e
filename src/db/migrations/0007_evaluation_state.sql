CREATE TABLE "notification_versions" (
	"symbol" text PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "symbols" ADD COLUMN "revision" bigint;--> statement-breakpoint
ALTER TABLE "symbols" ADD COLUMN "prev_revision" bigint;--> statement-breakpoint
ALTER TABLE "symbols" ADD COLUMN "history" bigint;--> statement-breakpoint
ALTER TABLE "symbols" ADD COLUMN "written_from" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "notifications_cooling_idx" ON "notifications" USING btree ("symbol","next_eligible_at") WHERE NOT "notifications"."paused" AND NOT "notifications"."done";--> statement-breakpoint
-- Hand-written below (Drizzle models neither sequences used this way nor triggers). See the comments
-- on `symbols.revision`, `symbols.history` and `notification_versions` in the schema: they let the evaluator keep each
-- symbol's recent bars and a summary of its rules in memory and know, from the ingest statement
-- itself, whether what it keeps is still current.
CREATE SEQUENCE "price_revision_seq";--> statement-breakpoint
CREATE SEQUENCE "notification_version_seq";--> statement-breakpoint
INSERT INTO "notification_versions" ("symbol", "version")
  SELECT "symbol", nextval('notification_version_seq') FROM (SELECT DISTINCT "symbol" FROM "notifications") s;--> statement-breakpoint
-- One function for the three row events: a new version for every symbol whose armed rules changed in
-- what they fire on or when (symbol, kind, variant, threshold, paused, done, next_eligible_at): so every
-- firing gives its symbol a new version too (its rule starts cooling down), while an edit of channels,
-- expiry or name does not.
CREATE FUNCTION "notification_versions_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO notification_versions (symbol, version)
      SELECT symbol, nextval('notification_version_seq')
      FROM (SELECT DISTINCT symbol FROM new_rows WHERE NOT paused AND NOT done ORDER BY symbol) s
      ON CONFLICT (symbol) DO UPDATE SET version = excluded.version;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO notification_versions (symbol, version)
      SELECT symbol, nextval('notification_version_seq')
      FROM (SELECT DISTINCT symbol FROM old_rows WHERE NOT paused AND NOT done ORDER BY symbol) s
      ON CONFLICT (symbol) DO UPDATE SET version = excluded.version;
  ELSE
    INSERT INTO notification_versions (symbol, version)
      SELECT symbol, nextval('notification_version_seq')
      FROM (
        SELECT DISTINCT unnest(ARRAY[o.symbol, n.symbol]) AS symbol
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.symbol, o.kind, o.variant, o.threshold, o.paused, o.done, o.next_eligible_at)
              IS DISTINCT FROM (n.symbol, n.kind, n.variant, n.threshold, n.paused, n.done, n.next_eligible_at)
        ORDER BY 1
      ) s
      ON CONFLICT (symbol) DO UPDATE SET version = excluded.version;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "notifications_versions_insert" AFTER INSERT ON "notifications"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "notification_versions_bump"();--> statement-breakpoint
CREATE TRIGGER "notifications_versions_delete" AFTER DELETE ON "notifications"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "notification_versions_bump"();--> statement-breakpoint
CREATE TRIGGER "notifications_versions_update" AFTER UPDATE ON "notifications"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "notification_versions_bump"();--> statement-breakpoint
-- A TRUNCATE removes every rule: every summary kept anywhere is stale.
CREATE FUNCTION "notification_versions_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE notification_versions SET version = nextval('notification_version_seq');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "notifications_versions_truncate" AFTER TRUNCATE ON "notifications"
  FOR EACH STATEMENT EXECUTE FUNCTION "notification_versions_truncate"();
