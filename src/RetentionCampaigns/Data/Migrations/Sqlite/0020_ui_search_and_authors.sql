-- Who changed a segment: a user's e-mail or "api key NAME"; unknown for changes made before this column.
-- (SQLite's LIKE scans; the embedded default holds a small shop.)
ALTER TABLE segments ADD COLUMN updated_by text;
ALTER TABLE segment_versions ADD COLUMN created_by text;
