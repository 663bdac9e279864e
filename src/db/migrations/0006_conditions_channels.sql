CREATE TABLE "user_channels" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" text NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"config" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "params" jsonb;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "variant" text;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "group_window_seconds" integer DEFAULT 30 NOT NULL;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "quiet_start" text;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "quiet_end" text;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "quiet_time_zone" text;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "quiet_mode" text DEFAULT 'hold' NOT NULL;--> statement-breakpoint
ALTER TABLE "user_channels" ADD CONSTRAINT "user_channels_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "user_channels_user_idx" ON "user_channels" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "deliveries_user_pending_idx" ON "deliveries" USING btree ("user_id","next_attempt_at") WHERE "deliveries"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "deliveries_user_recent_idx" ON "deliveries" USING btree ("user_id","last_attempt_at");--> statement-breakpoint
CREATE INDEX "notifications_armed_variant_idx" ON "notifications" USING btree ("symbol","kind","variant","threshold") WHERE NOT "notifications"."paused" AND NOT "notifications"."done" AND "notifications"."variant" IS NOT NULL;