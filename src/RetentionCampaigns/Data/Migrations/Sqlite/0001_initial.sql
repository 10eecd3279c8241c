-- Customers, orders, survey answers, consent ledger, API keys, import reports.
-- Timestamps are ISO-8601 UTC text ('yyyy-MM-dd HH:mm:ss.FFFFFFF'), as EF Core writes them; they sort as text.
CREATE TABLE customers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id   TEXT NOT NULL,
    email         TEXT NOT NULL,
    first_name    TEXT,
    last_name     TEXT,
    locale        TEXT NOT NULL DEFAULT 'de' CHECK (locale IN ('de', 'en')),
    time_zone     TEXT NOT NULL DEFAULT 'Europe/Berlin',
    country       TEXT,
    signed_up_at  TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    attributes    TEXT NOT NULL DEFAULT '{}',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX ix_customers_external_id ON customers (external_id);
CREATE INDEX ix_customers_email ON customers (lower(email));

CREATE TABLE orders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id    TEXT    NOT NULL,
    customer_id    INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    ordered_at     TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL CHECK (amount_minor >= 0),
    refunded_minor INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    currency       TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE UNIQUE INDEX ix_orders_external_id ON orders (external_id);
CREATE INDEX ix_orders_customer_id_ordered_at ON orders (customer_id, ordered_at);

CREATE TABLE order_lines (
    order_id         INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    sku              TEXT    NOT NULL,
    product_name     TEXT,
    category         TEXT,
    quantity         INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price_minor INTEGER,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;

CREATE TABLE survey_answers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id      INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    answered_at      TEXT    NOT NULL,
    nps              INTEGER CHECK (nps BETWEEN 0 AND 10),
    csat             INTEGER CHECK (csat BETWEEN 1 AND 5),
    ces              INTEGER CHECK (ces BETWEEN 1 AND 7),
    buy_again        INTEGER CHECK (buy_again BETWEEN 1 AND 10),
    try_new_products INTEGER CHECK (try_new_products BETWEEN 1 AND 10),
    recommend        INTEGER CHECK (recommend BETWEEN 1 AND 10),
    comment          TEXT,
    created_at       TEXT    NOT NULL
);
CREATE UNIQUE INDEX ix_survey_answers_customer_id_answered_at ON survey_answers (customer_id, answered_at);

CREATE TABLE consent_events (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id          INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose              TEXT    NOT NULL CHECK (purpose IN ('email_marketing', 'tracking', 'referral_program')),
    status               TEXT    NOT NULL CHECK (status IN ('granted', 'withdrawn')),
    lawful_basis         TEXT    NOT NULL CHECK (lawful_basis IN ('consent', 'existing_customer')),
    objection            INTEGER NOT NULL DEFAULT 0,
    source               TEXT    NOT NULL,
    occurred_at          TEXT    NOT NULL,
    ip_address           TEXT,
    user_agent           TEXT,
    consent_text_version TEXT,
    recorded_at          TEXT    NOT NULL
);
CREATE UNIQUE INDEX ix_consent_events_identity ON consent_events (customer_id, purpose, occurred_at, status);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX ix_api_keys_key_hash ON api_keys (key_hash);

CREATE TABLE imports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    file_name     TEXT,
    status        TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    rows_read     INTEGER NOT NULL DEFAULT 0,
    rows_accepted INTEGER NOT NULL DEFAULT 0,
    rows_rejected INTEGER NOT NULL DEFAULT 0,
    rows_created  INTEGER NOT NULL DEFAULT 0,
    rows_updated  INTEGER NOT NULL DEFAULT 0,
    rows_unchanged INTEGER NOT NULL DEFAULT 0,
    ignored_columns TEXT    NOT NULL DEFAULT '[]',
    errors        TEXT    NOT NULL DEFAULT '[]'
);
