-- Email entry points (mailboxes): their other addresses, a JSON array of lower-case addresses.
ALTER TABLE entry_points ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
-- Where an IMAP mailbox was read up to: the folder's UIDVALIDITY and the highest UID handled.
CREATE TABLE imap_state (
    entry_point_id TEXT PRIMARY KEY REFERENCES entry_points (id) ON DELETE CASCADE,
    uid_validity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
