-- Marketer-editable email templates with their history; the files under templates/ are the seeded defaults.
-- A version's content is JSON: {"de": {"subject", "html", "text"}, "en": {...}}; problems holds the errors and
-- warnings found when it was saved. Only a valid version can be used by a campaign.
CREATE TABLE templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('marketing', 'service')),
    description TEXT,
    built_in    INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX ix_templates_key ON templates (key);

CREATE TABLE template_versions (
    template_id INTEGER NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    content     TEXT    NOT NULL,
    valid       INTEGER NOT NULL,
    problems    TEXT    NOT NULL DEFAULT '[]',
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (template_id, version)
) WITHOUT ROWID;
