-- Referral program (DOMAIN.md). A program says what the friend is offered and what the referrer earns; one is
-- active at a time and each referral keeps the program it started under.
CREATE TABLE referral_programs (
    id                       INTEGER  PRIMARY KEY AUTOINCREMENT,
    name                     TEXT     NOT NULL UNIQUE,
    active                   INTEGER  NOT NULL,
    friend_offer             TEXT     NOT NULL,
    referrer_reward          TEXT     NOT NULL,
    qualifying_minimum_minor INTEGER  NOT NULL,
    review_days              INTEGER  NOT NULL,
    max_rewards_per_referrer INTEGER  NOT NULL,
    reward_period_days       INTEGER  NOT NULL,
    created_at               TEXT     NOT NULL,
    updated_at               TEXT     NOT NULL
);
CREATE UNIQUE INDEX ux_referral_programs_active ON referral_programs (active) WHERE active = 1;

-- One unguessable code per customer, made the first time a template needs it.
CREATE TABLE referral_codes (
    code        TEXT     PRIMARY KEY,
    customer_id INTEGER  NOT NULL UNIQUE REFERENCES customers (id) ON DELETE CASCADE,
    created_at  TEXT     NOT NULL
);

-- Landing page visits: no IP address or user agent, only which code (and campaign) and when.
CREATE TABLE referral_visits (
    id          INTEGER  PRIMARY KEY AUTOINCREMENT,
    code        TEXT     NOT NULL REFERENCES referral_codes (code) ON DELETE CASCADE,
    campaign_id INTEGER,
    visited_at  TEXT     NOT NULL
);
CREATE INDEX ix_referral_visits_code ON referral_visits (code, visited_at);

-- A friend brought by a referrer: each friend once. Status: signed_up (waiting for a qualifying first order),
-- ordered (waiting for the review period), rewarded, flagged (held for review), rejected.
CREATE TABLE referrals (
    id                INTEGER  PRIMARY KEY AUTOINCREMENT,
    program_id        INTEGER  NOT NULL REFERENCES referral_programs (id),
    code              TEXT     NOT NULL,
    referrer_id       INTEGER  NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    friend_id         INTEGER  NOT NULL UNIQUE REFERENCES customers (id) ON DELETE CASCADE,
    campaign_id       INTEGER,
    status            TEXT     NOT NULL CHECK (status IN ('signed_up', 'ordered', 'rewarded', 'flagged', 'rejected')),
    reason            TEXT,
    ip_address        TEXT,
    signed_up_at      TEXT     NOT NULL,
    first_order_id    INTEGER,
    first_order_at    TEXT,
    first_order_minor INTEGER,
    reward_due_at     TEXT,
    rewarded_at       TEXT,
    referrer_coupon   TEXT,
    friend_coupon     TEXT,
    created_at        TEXT     NOT NULL,
    updated_at        TEXT     NOT NULL
);
CREATE INDEX ix_referrals_referrer ON referrals (referrer_id, rewarded_at);
CREATE INDEX ix_referrals_open ON referrals (status, reward_due_at) WHERE status IN ('signed_up', 'ordered');
CREATE INDEX ix_referrals_ip ON referrals (ip_address, created_at);
