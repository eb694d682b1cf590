-- Entry points, interactions and what flows through them.
CREATE TABLE entry_points (
    id               TEXT PRIMARY KEY,
    reference        TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    start_routing_id TEXT REFERENCES routings (id) ON DELETE SET NULL,
    end_routing_id   TEXT REFERENCES routings (id) ON DELETE SET NULL,
    test_version_id  TEXT REFERENCES versions (id) ON DELETE SET NULL,
    phone_region     TEXT NOT NULL,
    callback_url     TEXT,
    revision         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE interactions (
    id             TEXT PRIMARY KEY,
    entry_point_id TEXT REFERENCES entry_points (id) ON DELETE SET NULL,
    -- live, test (a version in test) or preview (a development version, no entry point)
    mode           TEXT NOT NULL,
    customer       TEXT NOT NULL,
    routing_id     TEXT NOT NULL,
    version_id     TEXT NOT NULL,
    status         TEXT NOT NULL,
    -- the engine's state (JSON)
    state          TEXT NOT NULL,
    -- the durable timer of the interaction
    wake_at        INTEGER,
    next_seq       INTEGER NOT NULL,
    revision       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX interactions_open_by_customer ON interactions (entry_point_id, customer) WHERE status <> 'closed';
CREATE INDEX interactions_by_customer ON interactions (entry_point_id, customer, created_at);
CREATE INDEX interactions_wake ON interactions (wake_at) WHERE wake_at IS NOT NULL;
CREATE INDEX interactions_by_version ON interactions (version_id, id);

-- Deduplication of inbound messages by the channel's own message id.
CREATE TABLE inbound_messages (
    entry_point_id TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    PRIMARY KEY (entry_point_id, message_id)
);

CREATE TABLE interaction_events (
    interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    event          TEXT NOT NULL,
    PRIMARY KEY (interaction_id, seq)
);

-- Messages to deliver, at least once, each with its idempotency key (the id).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    interaction_id  TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    entry_point_id  TEXT,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    delivered_at    INTEGER,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL;
CREATE INDEX outbox_by_interaction ON outbox (interaction_id, seq);
