-- What a customer chose in the preference centre: topics they do not want, how often they want mail, a pause.
-- Consent itself stays in the consent ledger; these only narrow what consent allows.
CREATE TABLE customer_preferences (
    customer_id      bigint      PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    frequency        text        NOT NULL DEFAULT 'any' CHECK (frequency IN ('any', 'weekly', 'monthly')),
    paused_until     timestamptz,
    topics_opted_out text        NOT NULL DEFAULT '[]',
    updated_at       timestamptz NOT NULL
);

-- A campaign may belong to a topic customers can opt out of.
ALTER TABLE campaigns ADD COLUMN topic text;
