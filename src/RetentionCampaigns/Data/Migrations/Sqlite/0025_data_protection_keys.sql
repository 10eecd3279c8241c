-- The key ring of sign-in cookies and antiforgery tokens, shared by every node (Users/SharedKeyRing.cs).
CREATE TABLE data_protection_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    friendly_name TEXT,
    xml           TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
