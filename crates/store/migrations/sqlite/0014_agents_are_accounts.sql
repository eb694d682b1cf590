-- The agents of the distribution are accounts: every user has the account of the same id, with
-- the agent role. An account may have no email or password yet (an agent who signs in with
-- their token only, until an administrator gives them a sign-in).
CREATE TABLE accounts_next (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
INSERT INTO accounts_next (id, email, name, password_hash, role, status, revision, created_at, updated_at)
    SELECT id, email, name, password_hash, role, status, revision, created_at, updated_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_next RENAME TO accounts;
INSERT INTO accounts (id, email, name, password_hash, role, status, revision, created_at, updated_at)
    SELECT id, NULL, name, NULL, 'agent', 'active', 1, created_at, updated_at FROM users
    WHERE id NOT IN (SELECT id FROM accounts);

-- Custom roles: a reference (not a built-in one's), a name, its permissions (JSON array of
-- `resource:verb`).
CREATE TABLE roles (
    reference TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
