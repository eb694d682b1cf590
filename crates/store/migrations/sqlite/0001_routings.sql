-- Smart routings and their versions. Instants are epoch milliseconds (INTEGER).
CREATE TABLE routings (
    id              TEXT PRIMARY KEY,
    reference       TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    channel_family  TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    schedule_failure TEXT
);
CREATE INDEX routings_by_family_kind ON routings (channel_family, kind, id);

CREATE TABLE versions (
    id           TEXT PRIMARY KEY,
    routing_id   TEXT NOT NULL REFERENCES routings (id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL,
    in_test      INTEGER NOT NULL,
    -- the durable timer of a planned production
    scheduled_at INTEGER,
    revision     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    tree         TEXT NOT NULL,
    UNIQUE (routing_id, number)
);
CREATE UNIQUE INDEX versions_one_production ON versions (routing_id) WHERE status = 'production';
CREATE INDEX versions_scheduled ON versions (scheduled_at) WHERE scheduled_at IS NOT NULL;

-- Responses to creating requests that carried an Idempotency-Key.
CREATE TABLE idempotency_keys (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    body         BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
