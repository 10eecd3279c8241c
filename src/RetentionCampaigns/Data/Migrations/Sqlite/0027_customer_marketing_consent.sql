-- Each customer's current marketing consent (the latest email_marketing event by occurred_at, then id) kept on the
-- customer's row by the database itself whenever consent events are written or deleted, whatever writes them; segment
-- queries test it for every candidate instead of looking up the latest event twice. The events stay the record.
-- Plain values ('none' without events) rather than NULLs, so a query tests the column itself.
ALTER TABLE customers ADD COLUMN marketing_consent TEXT NOT NULL DEFAULT 'none';
ALTER TABLE customers ADD COLUMN marketing_objected INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER consent_events_inserted AFTER INSERT ON consent_events WHEN NEW.purpose = 'email_marketing'
BEGIN
    UPDATE customers SET
        marketing_consent = COALESCE((SELECT e.status FROM consent_events AS e WHERE e.customer_id = NEW.customer_id AND e.purpose = 'email_marketing'
                                      ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 'none'),
        marketing_objected = COALESCE((SELECT e.status = 'withdrawn' AND e.objection FROM consent_events AS e WHERE e.customer_id = NEW.customer_id AND e.purpose = 'email_marketing'
                                       ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 0)
    WHERE id = NEW.customer_id;
END;

CREATE TRIGGER consent_events_updated AFTER UPDATE ON consent_events WHEN NEW.purpose = 'email_marketing' OR OLD.purpose = 'email_marketing'
BEGIN
    UPDATE customers SET
        marketing_consent = COALESCE((SELECT e.status FROM consent_events AS e WHERE e.customer_id = customers.id AND e.purpose = 'email_marketing'
                                      ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 'none'),
        marketing_objected = COALESCE((SELECT e.status = 'withdrawn' AND e.objection FROM consent_events AS e WHERE e.customer_id = customers.id AND e.purpose = 'email_marketing'
                                       ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 0)
    WHERE id IN (NEW.customer_id, OLD.customer_id);
END;

CREATE TRIGGER consent_events_deleted AFTER DELETE ON consent_events WHEN OLD.purpose = 'email_marketing'
BEGIN
    UPDATE customers SET
        marketing_consent = COALESCE((SELECT e.status FROM consent_events AS e WHERE e.customer_id = OLD.customer_id AND e.purpose = 'email_marketing'
                                      ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 'none'),
        marketing_objected = COALESCE((SELECT e.status = 'withdrawn' AND e.objection FROM consent_events AS e WHERE e.customer_id = OLD.customer_id AND e.purpose = 'email_marketing'
                                       ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 0)
    WHERE id = OLD.customer_id;
END;

UPDATE customers SET
    marketing_consent = COALESCE((SELECT e.status FROM consent_events AS e WHERE e.customer_id = customers.id AND e.purpose = 'email_marketing'
                                      ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 'none'),
        marketing_objected = COALESCE((SELECT e.status = 'withdrawn' AND e.objection FROM consent_events AS e WHERE e.customer_id = customers.id AND e.purpose = 'email_marketing'
                                       ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), 0);
