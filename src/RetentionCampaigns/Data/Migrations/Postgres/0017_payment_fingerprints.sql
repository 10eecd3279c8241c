-- The payment provider's fingerprint of the card or account an order was paid with (opaque, optional), so that a
-- referral paid with the referrer's own payment method counts as self-referral.
ALTER TABLE orders ADD COLUMN payment_fingerprint TEXT;
CREATE INDEX ix_orders_payment_fingerprint ON orders (payment_fingerprint) WHERE payment_fingerprint IS NOT NULL;
