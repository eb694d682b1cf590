-- Inbound deduplication is per customer: two customers of one entry point may send messages
-- with the same channel message id.
CREATE TABLE inbound_messages_by_customer (
    entry_point_id TEXT NOT NULL,
    customer       TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    PRIMARY KEY (entry_point_id, customer, message_id)
);
INSERT INTO inbound_messages_by_customer (entry_point_id, customer, message_id, interaction_id, received_at)
    SELECT m.entry_point_id, COALESCE(i.customer, ''), m.message_id, m.interaction_id, m.received_at
    FROM inbound_messages m LEFT JOIN interactions i ON i.id = m.interaction_id;
DROP TABLE inbound_messages;
ALTER TABLE inbound_messages_by_customer RENAME TO inbound_messages;

-- An entry point's phone region is an override of the deployment's `phone_region` setting;
-- '' follows the setting. 'FR' was the built-in value every entry point got: it now follows
-- the setting, whose default is 'FR'.
UPDATE entry_points SET phone_region = '' WHERE phone_region = 'FR';
