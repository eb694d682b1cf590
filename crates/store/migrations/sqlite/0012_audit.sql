-- Append-only audit log of changes made through the administration: who, when, what, on what.
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    target TEXT,
    status INTEGER NOT NULL,
    revision_before INTEGER,
    revision_after INTEGER
);
CREATE INDEX audit_by_actor ON audit (actor, id);
CREATE INDEX audit_by_target ON audit (target, id);
CREATE INDEX audit_by_at ON audit (at);
