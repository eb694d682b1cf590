-- Targets of outbound campaigns (seed 003 §9): the number in E.164, when to start contacting
-- it, its priority, layout and fields (JSON), whether it is still to contact. `key` (the
-- interaction's effect) makes a request performed again after a crash find its target instead
-- of inserting another. The dialler or sender that works through them reads them from the API.
CREATE TABLE campaign_targets (
    id             TEXT PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    campaign_id    TEXT NOT NULL,
    phone          TEXT NOT NULL,
    start_at       INTEGER NOT NULL,
    priority       INTEGER,
    layout         TEXT,
    fields         TEXT NOT NULL,
    status         TEXT NOT NULL,
    customer_id    TEXT,
    interaction_id TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX campaign_targets_by_number ON campaign_targets (campaign_id, phone, status);
CREATE INDEX campaign_targets_by_campaign ON campaign_targets (campaign_id, id);
