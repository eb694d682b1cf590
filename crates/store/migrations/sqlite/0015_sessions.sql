-- Browser sessions: the SHA-256 of the cookie's secret (never the secret), the account, when it
-- began and when it was last used (written at most once a minute). They outlive a restart.
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_seen ON sessions (seen_at);
