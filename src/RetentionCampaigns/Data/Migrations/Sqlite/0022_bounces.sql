-- What arrived in the bounce mailbox, each recorded once by the SHA-256 of its bytes; run_id and customer_id name
-- the delivery it was tied to; raw keeps the bytes of one nobody could read or tie to a delivery.
CREATE TABLE bounces (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT    NOT NULL UNIQUE,
    received_at TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    run_id      INTEGER,
    customer_id INTEGER,
    status      TEXT,
    summary     TEXT    NOT NULL,
    raw         BLOB
);
CREATE INDEX ix_bounces_delivery ON bounces (run_id, customer_id);
CREATE INDEX ix_bounces_received ON bounces (received_at);
