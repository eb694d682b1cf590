-- Files administrators upload for business objects to refer to (the attachments of email
-- templates). Kept until deleted: no retention applies to them.
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
