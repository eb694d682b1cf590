-- WhatsApp, Telegram and Messenger entry points: their address at the provider (phone number
-- id, bot username, page id). Their credentials are sealed in `secret` (a JSON object, sealed
-- whole).
ALTER TABLE entry_points ADD COLUMN address TEXT;
-- What the provider calls a reply once it took it (its message id), for its delivery statuses.
ALTER TABLE outbox ADD COLUMN provider_message_id TEXT;
ALTER TABLE outbox ADD COLUMN status TEXT;
CREATE INDEX outbox_by_provider_message ON outbox (provider_message_id) WHERE provider_message_id IS NOT NULL;
