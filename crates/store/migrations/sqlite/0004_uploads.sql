-- Files customers send through the web chat (images), with their sniffed content type.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    entry_point_id TEXT NOT NULL,
    customer       TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    data           BLOB NOT NULL,
    created_at     INTEGER NOT NULL
);
