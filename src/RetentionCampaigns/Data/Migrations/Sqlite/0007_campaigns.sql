-- Campaigns: who (a segment), what (a template), when (once or a cron in a time zone) and how (offer, frequency,
-- quiet hours, holdout). A segment or template a campaign uses cannot be deleted (RESTRICT).
CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT        NOT NULL,
    description      TEXT,
    segment_id       INTEGER     NOT NULL REFERENCES segments (id) ON DELETE RESTRICT,
    template_id      INTEGER     NOT NULL REFERENCES templates (id) ON DELETE RESTRICT,
    default_locale   TEXT        NOT NULL CHECK (default_locale IN ('de', 'en')),
    sender_name      TEXT,
    sender_email     TEXT,
    reply_to         TEXT,
    schedule_kind    TEXT        NOT NULL CHECK (schedule_kind IN ('once', 'cron')),
    send_at          TEXT,
    cron             TEXT,
    time_zone        TEXT        NOT NULL,
    active_from      TEXT,
    active_until     TEXT,
    holdout_percent  INTEGER     NOT NULL DEFAULT 0 CHECK (holdout_percent BETWEEN 0 AND 50),
    priority         INTEGER     NOT NULL DEFAULT 0,
    policy           TEXT        NOT NULL DEFAULT '{}',
    offer            TEXT,
    state            TEXT        NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
    created_at       TEXT        NOT NULL,
    updated_at       TEXT        NOT NULL
);
CREATE UNIQUE INDEX ix_campaigns_name ON campaigns (lower(name));
CREATE INDEX ix_campaigns_segment_id ON campaigns (segment_id);
CREATE INDEX ix_campaigns_template_id ON campaigns (template_id);
