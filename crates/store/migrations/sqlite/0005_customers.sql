-- Customers, identified by their address on a channel; interactions point at them.
CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    channel    TEXT NOT NULL,
    address    TEXT NOT NULL,
    reference  TEXT UNIQUE,
    name       TEXT NOT NULL,
    -- free fields (JSON object)
    fields     TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (channel, address)
);

ALTER TABLE interactions ADD COLUMN customer_id TEXT;
CREATE INDEX interactions_by_customer_id ON interactions (customer_id, created_at) WHERE customer_id IS NOT NULL;
