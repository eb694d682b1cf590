-- Payments (seed 003 §11.2): each payment link a routing asked a payment module for, what it
-- is for (an invoice, or an amount), how it was sent and where it is; `key` (the interaction's
-- effect) makes a request performed again after a crash find its payment. `payment_events`
-- keeps the provider's event ids taken, so a webhook delivered twice is applied once. A
-- payment module's webhook signing secret is sealed in `business_objects.webhook_secret`.
ALTER TABLE business_objects ADD COLUMN webhook_secret TEXT;

CREATE TABLE payments (
    id             TEXT PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    module_id      TEXT NOT NULL,
    interaction_id TEXT,
    invoice_id     TEXT,
    amount_minor   INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    reference      TEXT NOT NULL,
    mode           TEXT NOT NULL,
    session        TEXT,
    url            TEXT,
    status         TEXT NOT NULL,
    reason         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX payments_by_invoice ON payments (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX payments_by_status ON payments (status, id);

CREATE TABLE payment_events (
    event_id   TEXT NOT NULL,
    module_id  TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (module_id, event_id)
);
