-- CRM cards linked to interactions and customers (seed 003 §5): a card is a row of the custom
-- database its directory (or CRM V2 object) names; each link says which directory and object it
-- came through. One link per interaction and card.
CREATE TABLE crm_links (
    card_id        TEXT NOT NULL,
    database_id    TEXT NOT NULL,
    directory_id   TEXT NOT NULL,
    object         TEXT,
    interaction_id TEXT NOT NULL,
    customer_id    TEXT,
    linked_at      INTEGER NOT NULL,
    PRIMARY KEY (interaction_id, card_id)
);
CREATE INDEX crm_links_by_customer ON crm_links (customer_id, linked_at) WHERE customer_id IS NOT NULL;
