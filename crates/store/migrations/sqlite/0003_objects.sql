-- Business objects that actions refer to: checkpoints, values tables, calendars.
CREATE TABLE business_objects (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    reference   TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    data        TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (kind, reference)
);
CREATE INDEX business_objects_by_kind ON business_objects (kind, id);
