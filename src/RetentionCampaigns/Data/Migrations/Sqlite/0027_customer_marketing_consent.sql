-- Each customer's current marketing consent (the latest email_marketing event by occurred_at, then id) kept on the
-- customer's row by the database itself whenever consent events are written or deleted, whatever writes them; segment
-- queries test it for every candidate instead of looking up the latest event twice. The events stay the record.
-- Plain values ('none' without events) rather than NULLs, so a query tests the column itself.
ALTER TABLE customers ADD COLUMN marketing_consent TEXT NOT NULL DEFAULT 'none';
ALTER TABLE customers ADD COLUMN marketing_objected INTEGER NOT NULL DEFAULT 0;

-- What the columns must hold, from the events: the one definition the triggers and the backfill below share.
CREATE VIEW customer_marketing_consent AS
SELECT c.id AS customer_id, COALESCE(e.status, 'none') AS status, COALESCE(e.status = 'withdrawn' AND e.objection, 0) AS objected
FROM customers AS c
LEFT JOIN consent_events AS e ON e.id = (SELECT l.id FROM consent_events AS l WHERE l.customer_id = c.id AND l.purpose = 'email_marketing'
                                         ORDER BY l.occurred_at DESC, l.id DESC LIMIT 1);

CREATE TRIGGER consent_events_inserted AFTER INSERT ON consent_events WHEN NEW.purpose = 'email_marketing'
BEGIN
    UPDATE customers SET (marketing_consent, marketing_objected) =
        (SELECT status, objected FROM customer_marketing_consent WHERE customer_id = customers.id)
    WHERE id = NEW.customer_id;
END;

CREATE TRIGGER consent_events_updated AFTER UPDATE ON consent_events WHEN NEW.purpose = 'email_marketing' OR OLD.purpose = 'email_marketing'
BEGIN
    UPDATE customers SET (marketing_consent, marketing_objected) =
        (SELECT status, objected FROM customer_marketing_consent WHERE customer_id = customers.id)
    WHERE id IN (NEW.customer_id, OLD.customer_id);
END;

CREATE TRIGGER consent_events_deleted AFTER DELETE ON consent_events WHEN OLD.purpose = 'email_marketing'
BEGIN
    UPDATE customers SET (marketing_consent, marketing_objected) =
        (SELECT status, objected FROM customer_marketing_consent WHERE customer_id = customers.id)
    WHERE id = OLD.customer_id;
END;

UPDATE customers SET (marketing_consent, marketing_objected) =
    (SELECT status, objected FROM customer_marketing_consent WHERE customer_id = customers.id);
