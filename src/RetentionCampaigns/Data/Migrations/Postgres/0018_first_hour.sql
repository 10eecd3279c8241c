-- Why the system paused a campaign (a template version with errors at run time, too many delivery errors), so the
-- marketer sees it on the campaign; cleared by the next action a person takes.
ALTER TABLE campaigns ADD COLUMN state_reason TEXT;

-- When each API key was last used (written at most once a minute per node), so unused keys can be found and revoked.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;

-- The demo shop's seeding: started, then completed; a start without completion is an interrupted seed, redone whole.
CREATE TABLE demo_shop (
    id           integer PRIMARY KEY CHECK (id = 1),
    started_at   timestamptz NOT NULL,
    completed_at timestamptz
);

-- Deliveries a cancelled campaign never sent are 'cancelled', not skips for the customer's sake; earlier ones move over.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'held_out', 'deferred', 'skipped', 'claimed', 'sending', 'sent', 'failed', 'in_doubt', 'cancelled'));
UPDATE deliveries SET status = 'cancelled' WHERE status = 'skipped' AND reason = 'the campaign was cancelled';
