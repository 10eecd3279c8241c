-- Why the system paused a campaign (a template version with errors at run time, too many delivery errors), so the
-- marketer sees it on the campaign; cleared by the next action a person takes.
ALTER TABLE campaigns ADD COLUMN state_reason TEXT;

-- When each API key was last used (written at most once a minute per node), so unused keys can be found and revoked.
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;

-- The demo shop's seeding: started, then completed; a start without completion is an interrupted seed, redone whole.
CREATE TABLE demo_shop (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    started_at   TEXT NOT NULL,
    completed_at TEXT
);

-- Deliveries a cancelled campaign never sent are 'cancelled', not skips for the customer's sake; earlier ones move over.
-- SQLite cannot change a CHECK constraint: the table is rebuilt (nothing references it).
CREATE TABLE deliveries_new (
    run_id      INTEGER NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'held_out', 'deferred', 'skipped', 'claimed', 'sending', 'sent', 'failed', 'in_doubt', 'cancelled')),
    reason      TEXT,
    not_before  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    claimed_by  TEXT,
    message_id  TEXT,
    reply       TEXT,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
INSERT INTO deliveries_new (run_id, customer_id, status, reason, not_before, attempts, claimed_by, message_id, reply, updated_at)
SELECT run_id, customer_id,
       CASE WHEN status = 'skipped' AND reason = 'the campaign was cancelled' THEN 'cancelled' ELSE status END,
       reason, not_before, attempts, claimed_by, message_id, reply, updated_at
FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX ix_deliveries_status ON deliveries (run_id, status);
CREATE INDEX ix_deliveries_customer ON deliveries (customer_id, status);
CREATE INDEX ix_deliveries_open ON deliveries (run_id, customer_id) WHERE status IN ('pending', 'deferred');
