-- People who sign in to the marketer UI: admin (everything, users, API keys), marketer (segments, templates,
-- campaigns), analyst (read-only). Passwords are stored as the framework's PasswordHasher hashes only.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'marketer', 'analyst')),
    password_hash       TEXT NOT NULL,
    locale              TEXT,
    disabled_at         TEXT,
    password_changed_at TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
-- Addresses are compared in lower case: one account per mailbox however it is typed.
CREATE UNIQUE INDEX ix_users_email ON users (email);
