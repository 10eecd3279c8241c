-- Coupon codes: uploaded into a pool (issued_at null until a customer gets one) or generated when issued. An issued
-- coupon carries its own terms, so a later change to the campaign's offer does not change what a customer was
-- promised. (issued_for, customer_id) is unique: a repeated send job finds the coupon it issued before, so a
-- customer gets one code per run however often the message is retried.
CREATE TABLE coupons (
    code                TEXT    PRIMARY KEY,
    pool                TEXT    NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('uploaded', 'generated')),
    customer_id         INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    issued_for          TEXT,
    value_minor         INTEGER,
    percent_off         INTEGER,
    minimum_order_minor INTEGER,
    expires_at          TEXT,
    created_at          TEXT    NOT NULL,
    issued_at           TEXT,
    redeemed_at         TEXT,
    redeemed_order_id   TEXT
);
CREATE UNIQUE INDEX ux_coupons_issued ON coupons (issued_for, customer_id) WHERE issued_for IS NOT NULL;
CREATE INDEX ix_coupons_available ON coupons (pool, code) WHERE issued_at IS NULL;
CREATE INDEX ix_coupons_pool ON coupons (pool, issued_at);
