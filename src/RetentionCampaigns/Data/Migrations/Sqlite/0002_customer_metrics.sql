-- Per-customer metrics of the latest evaluation (DOMAIN.md), rewritten whole by each refresh from the
-- customers table itself, so it carries no foreign key (a per-row check on every rewrite buys nothing).
CREATE TABLE customer_metrics (
    customer_id     INTEGER PRIMARY KEY,
    evaluated_at    TEXT    NOT NULL,
    order_count     INTEGER NOT NULL,
    first_order_at  TEXT,
    last_order_at   TEXT,
    recency_days    INTEGER,
    frequency       INTEGER NOT NULL,
    monetary_minor  INTEGER NOT NULL,
    aov_minor       REAL,
    tenure_days     INTEGER,
    r_score         INTEGER,
    f_score         INTEGER,
    m_score         INTEGER,
    rfm_group       TEXT,
    nps_last        INTEGER,
    nps_category    TEXT    NOT NULL,
    csat_avg        REAL,
    ces_last        INTEGER,
    loyalty_score   REAL,
    clv_minor       REAL,
    churned         INTEGER NOT NULL
);

CREATE TABLE metrics_runs (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    evaluated_at          TEXT    NOT NULL,
    started_at            TEXT    NOT NULL,
    duration_ms           INTEGER NOT NULL,
    customers             INTEGER NOT NULL,
    average_lifespan_years REAL
);
