import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Background jobs that any server may run but only one at a time: a runner locks the job's row
 * (FOR UPDATE SKIP LOCKED; the others skip their turn) and moves `done_until` forward in the same
 * transaction as the work, so no stretch of data is ever processed twice.
 */
export const scheduledJobs = pgTable('scheduled_jobs', {
  name: text('name').primaryKey(),
  /** Everything before this instant is done; null before the first run that found work. */
  doneUntil: timestamp('done_until', { withTimezone: true, mode: 'date' }),
  lastRunAt: timestamp('last_run_at', { withTimezone: true, mode: 'date' }),
  lastRunBy: text('last_run_by'),
});
