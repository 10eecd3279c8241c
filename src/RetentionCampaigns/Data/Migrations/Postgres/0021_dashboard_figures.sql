-- The dashboard's KPI figures, computed with the metrics (nightly, on refresh): live KPIs aggregate every order,
-- seconds at a million customers, so the dashboard reads these. One row per period ('7', '30', '90', '365', 'trend').
CREATE TABLE dashboard_figures (
    name        text PRIMARY KEY,
    computed_at timestamptz NOT NULL,
    content     text NOT NULL
);
