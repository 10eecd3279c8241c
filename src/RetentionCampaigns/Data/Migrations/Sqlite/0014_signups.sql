-- Double opt-in: a sign-up form's address waits here until its owner follows the confirmation link. The row keeps
-- what the form sent and where from (with the confirming request's IP and user agent on the consent event, the
-- proof of consent); unconfirmed rows are deleted once they expire (Consent:PendingDays).
CREATE TABLE signups (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    email                TEXT    NOT NULL,
    first_name           TEXT,
    locale               TEXT    NOT NULL,
    form                 TEXT,
    ip_address           TEXT,
    user_agent           TEXT,
    consent_text_version TEXT,
    created_at           TEXT    NOT NULL,
    expires_at           TEXT    NOT NULL,
    confirmed_at         TEXT,
    customer_id          INTEGER REFERENCES customers (id) ON DELETE SET NULL
);
CREATE INDEX ix_signups_email ON signups (lower(email), created_at);
CREATE INDEX ix_signups_pending ON signups (expires_at) WHERE confirmed_at IS NULL;
