-- Segments with their rule history: a campaign run records the version it used.
CREATE TABLE segments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT,
    built_in    INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL,
    rule        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX ix_segments_name ON segments (lower(name));

CREATE TABLE segment_versions (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    rule       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (segment_id, version)
) WITHOUT ROWID;
