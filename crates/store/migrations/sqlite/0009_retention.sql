-- What the retention purge and the upload quota look things up by.
CREATE INDEX uploads_by_customer ON uploads (entry_point_id, customer, created_at);
CREATE INDEX uploads_by_time ON uploads (created_at);
CREATE INDEX inbound_messages_by_time ON inbound_messages (received_at);
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX interactions_closed ON interactions (updated_at) WHERE status = 'closed';
