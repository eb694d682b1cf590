-- Salesforce records linked to interactions as CRM cards (a directory connected to
-- Salesforce: its cards are records there, not rows here): the record's id and object, the
-- directory, the interaction and its customer, and the record's fields as read when linked
-- (JSON). Once per record and interaction.
CREATE TABLE crm_record_links (
    record_id      TEXT NOT NULL,
    object         TEXT NOT NULL,
    directory_id   TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    customer_id    TEXT,
    fields         TEXT NOT NULL,
    linked_at      INTEGER NOT NULL,
    PRIMARY KEY (interaction_id, directory_id, record_id)
);
CREATE INDEX crm_record_links_by_customer ON crm_record_links (customer_id, linked_at);
