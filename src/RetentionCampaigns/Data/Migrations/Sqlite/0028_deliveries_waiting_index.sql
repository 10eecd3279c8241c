-- At the end of each send job the sender asks when the run's earliest deferred or retrying row is due. Through
-- ix_deliveries_open that meant visiting every open row of the run, and on PostgreSQL every stale entry of a row
-- sent since (they stay until a vacuum): 90-110 ms a call in a 100,000-recipient run, 6-8 calls a run (campaign
-- benchmark, pg_stat_statements). Only rows waiting for a time are in this index, so it costs sending nothing.
CREATE INDEX ix_deliveries_waiting ON deliveries (run_id, not_before) WHERE status IN ('pending', 'deferred') AND not_before IS NOT NULL;
