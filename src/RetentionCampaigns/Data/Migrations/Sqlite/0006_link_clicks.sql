-- Clicks on tracked links (/c/{token}); a link is tracked only for customers with tracking consent.
CREATE TABLE link_clicks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    target      TEXT    NOT NULL,
    clicked_at  TEXT    NOT NULL
);
CREATE INDEX ix_link_clicks_customer_id ON link_clicks (customer_id, clicked_at);
