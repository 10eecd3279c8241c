-- Addresses never to mail again: hard bounces, complaints, manual entries, erased people. Only a salted hash of
-- the normalised address is kept, so the list survives erasure and re-imports without holding the address. The
-- salt is generated once per installation and never rotated (a new salt would orphan every hash).
CREATE TABLE suppression_salt (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    salt       BLOB    NOT NULL,
    created_at TEXT    NOT NULL
);

CREATE TABLE suppressions (
    address_hash TEXT PRIMARY KEY,
    reason       TEXT NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'manual', 'erased')),
    source       TEXT NOT NULL,
    detail       TEXT,
    created_at   TEXT NOT NULL
);
