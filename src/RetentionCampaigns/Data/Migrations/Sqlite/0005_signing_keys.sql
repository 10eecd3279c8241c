-- Keys for the HMAC-signed links (unsubscribe, preferences, confirmation, clicks). Generated on first start
-- when none is configured, so links keep working across restarts and every node signs alike. The highest id
-- signs; older keys still verify until they are deleted (key rotation).
CREATE TABLE signing_keys (
    id         INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 255),
    secret     BLOB    NOT NULL,
    created_at TEXT    NOT NULL
);
