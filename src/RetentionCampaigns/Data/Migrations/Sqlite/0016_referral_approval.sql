-- A referral released by a reviewer is not held again by the reward cap it was flagged for.
ALTER TABLE referrals ADD COLUMN approved_at TEXT;
-- The referrer's reward notice: due (NULL once rewarded), sending, sent, skipped: why, failed: why, in doubt: why.
-- A server that says "try later" gets the notice again on the job's next runs, a limited number of times.
ALTER TABLE referrals ADD COLUMN notice TEXT;
ALTER TABLE referrals ADD COLUMN notice_attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ix_referrals_notice_due ON referrals (id) WHERE status = 'rewarded' AND notice IS NULL;
