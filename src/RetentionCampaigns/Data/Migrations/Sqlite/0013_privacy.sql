-- GDPR erasure keeps the customer row as an anonymous shell (orders and scores stay for the aggregates); erased_at
-- marks it, and the sender never mails such a row.
ALTER TABLE customers ADD COLUMN erased_at TEXT;

-- Who exported or erased whose data, and when (Art. 5(2) GDPR accountability). The subject is the shop's customer
-- id at the time of the request, so the shop can show the request was carried out.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('export', 'erasure')),
    customer_id INTEGER NOT NULL,
    subject     TEXT    NOT NULL,
    detail      TEXT
);
CREATE INDEX ix_audit_log_occurred_at ON audit_log (occurred_at);
