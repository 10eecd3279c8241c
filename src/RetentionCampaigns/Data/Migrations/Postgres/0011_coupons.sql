-- Coupon codes: uploaded into a pool (issued_at null until a customer gets one) or generated when issued. An issued
-- coupon carries its own terms, so a later change to the campaign's offer does not change what a customer was
-- promised. (issued_for, customer_id) is unique: a repeated send job finds the coupon it issued before, so a
-- customer gets one code per run however often the message is retried.
CREATE TABLE coupons (
    code                text        PRIMARY KEY,
    pool                text        NOT NULL,
    source              text        NOT NULL CHECK (source IN ('uploaded', 'generated')),
    customer_id         bigint      REFERENCES customers (id) ON DELETE SET NULL,
    issued_for          text,
    value_minor         bigint,
    percent_off         integer,
    minimum_order_minor bigint,
    expires_at          timestamptz,
    created_at          timestamptz NOT NULL,
    issued_at           timestamptz,
    redeemed_at         timestamptz,
    redeemed_order_id   text
);
CREATE UNIQUE INDEX ux_coupons_issued ON coupons (issued_for, customer_id) WHERE issued_for IS NOT NULL;
CREATE INDEX ix_coupons_available ON coupons (pool, code) WHERE issued_at IS NULL;
CREATE INDEX ix_coupons_pool ON coupons (pool, issued_at);
