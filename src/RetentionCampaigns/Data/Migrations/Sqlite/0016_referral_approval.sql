-- A referral released by a reviewer is not held again by the reward cap it was flagged for.
ALTER TABLE referrals ADD COLUMN approved_at TEXT;
