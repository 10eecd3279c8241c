-- The scheduler moved from Quartz to Hangfire (issue 19). Campaign crons were written in Quartz's dialect (seconds
-- field, '?', weekdays 1 = Sunday); the app converts them at start (Scheduling/StoredCronConversion.cs) and keeps the
-- Quartz text in quartz_cron. A one-off campaign's pending Hangfire job is remembered so a change can delete it.
ALTER TABLE campaigns ADD COLUMN quartz_cron TEXT NULL;
UPDATE campaigns SET quartz_cron = cron WHERE cron IS NOT NULL;
ALTER TABLE campaigns ADD COLUMN scheduled_job_id TEXT NULL;
-- Which send jobs are alive: each renews its row while it works; rows it holds in the ledger are given back (or
-- marked in doubt) once its lease is stale, whatever became of its node.
CREATE TABLE send_leases (holder TEXT PRIMARY KEY, node TEXT NOT NULL, renewed_at TEXT NOT NULL);
DROP TABLE IF EXISTS qrtz_fired_triggers;
DROP TABLE IF EXISTS qrtz_paused_trigger_grps;
DROP TABLE IF EXISTS qrtz_scheduler_state;
DROP TABLE IF EXISTS qrtz_locks;
DROP TABLE IF EXISTS qrtz_simple_triggers;
DROP TABLE IF EXISTS qrtz_simprop_triggers;
DROP TABLE IF EXISTS qrtz_cron_triggers;
DROP TABLE IF EXISTS qrtz_blob_triggers;
DROP TABLE IF EXISTS qrtz_calendars;
DROP TABLE IF EXISTS qrtz_triggers;
DROP TABLE IF EXISTS qrtz_job_details;
