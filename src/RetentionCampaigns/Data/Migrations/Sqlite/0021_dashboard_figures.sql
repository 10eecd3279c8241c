-- The dashboard's KPI figures, computed with the metrics (nightly, on refresh); one row per period or the trend.
CREATE TABLE dashboard_figures (
    name        TEXT PRIMARY KEY,
    computed_at TEXT NOT NULL,
    content     TEXT NOT NULL
);
