-- Agents, the distribution's own state, and customers' owners.
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    -- SHA-256 of the agent's API token (hex)
    token_hash      TEXT NOT NULL UNIQUE,
    presence        TEXT NOT NULL,
    capacity        INTEGER NOT NULL,
    auto_accept     INTEGER NOT NULL,
    last_message_at INTEGER,
    revision        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- One row per distributed interaction (waiting, offered or assigned), as the acd crate holds it.
CREATE TABLE acd_entries (
    interaction_id TEXT PRIMARY KEY,
    user_id        TEXT,
    entry          TEXT NOT NULL
);
CREATE INDEX acd_entries_by_user ON acd_entries (user_id) WHERE user_id IS NOT NULL;

-- Rotation position and recent handling times of each group.
CREATE TABLE acd_groups (
    group_id TEXT PRIMARY KEY,
    rotation INTEGER NOT NULL,
    handling TEXT NOT NULL
);

CREATE TABLE acd_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

ALTER TABLE customers ADD COLUMN owner_id TEXT;
ALTER TABLE entry_points ADD COLUMN customer_routing TEXT;
