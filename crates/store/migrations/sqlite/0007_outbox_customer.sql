-- The outbox keeps each customer's replies in order: finding "an earlier pending reply of the same
-- customer" must be an index lookup, not a scan reading every pending payload.
ALTER TABLE outbox ADD COLUMN customer TEXT;
UPDATE outbox SET customer = json_extract(payload, '$.customer');
CREATE INDEX outbox_pending_by_customer ON outbox (entry_point_id, customer, id)
    WHERE delivered_at IS NULL AND next_attempt_at IS NOT NULL;
