-- The UI's customer search: a case-insensitive prefix of the external id, e-mail, first or last name. LIKE 'abc%'
-- uses an index only with text_pattern_ops whatever the database's collation.
CREATE INDEX ix_customers_external_id_prefix ON customers (lower(external_id) text_pattern_ops);
CREATE INDEX ix_customers_email_prefix ON customers (lower(email) text_pattern_ops);
CREATE INDEX ix_customers_first_name_prefix ON customers (lower(first_name) text_pattern_ops);
CREATE INDEX ix_customers_last_name_prefix ON customers (lower(last_name) text_pattern_ops);
-- Who changed a segment: a user's e-mail or "api key NAME"; unknown for changes made before this column.
ALTER TABLE segments ADD COLUMN updated_by text;
ALTER TABLE segment_versions ADD COLUMN created_by text;
