-- A campaign run and its delivery ledger: one row per (run, customer), the unique key that makes sending exactly
-- once. A run is keyed by the schedule slot it was fired for, so a job Quartz runs twice finds its own run.
-- A send job claims rows (claimed_by = its Quartz fire instance) and marks each 'sending' just before the wire;
-- rows of a fire instance that is no longer executing go back to pending (claimed) or become in doubt (sending).
CREATE TABLE campaign_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    slot             TEXT    NOT NULL,
    segment_version  INTEGER NOT NULL,
    template_version INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('snapshotting', 'sending', 'paused', 'completed', 'cancelled')),
    members          INTEGER NOT NULL DEFAULT 0,
    held_out         INTEGER NOT NULL DEFAULT 0,
    started_at       TEXT    NOT NULL,
    valid_until      TEXT    NOT NULL,
    finished_at      TEXT
);
CREATE UNIQUE INDEX ux_campaign_runs_slot ON campaign_runs (campaign_id, slot);

CREATE TABLE deliveries (
    run_id      INTEGER NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'held_out', 'deferred', 'skipped', 'claimed', 'sending', 'sent', 'failed', 'in_doubt')),
    reason      TEXT,
    not_before  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_by  TEXT,
    message_id  TEXT,
    reply       TEXT,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX ix_deliveries_status ON deliveries (run_id, status);
CREATE INDEX ix_deliveries_customer ON deliveries (customer_id, status);
