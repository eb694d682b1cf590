-- The rows of custom databases (business objects of kind `database`): their values as JSON in
-- canonical form, and the search keys of their indexed and unique columns (how searches
-- compare values: text without case or accents). A unique column's keys are in
-- `database_unique`, whose primary key refuses a second row with the same value. The number
-- of rows of each database is kept in `database_sizes` so the limit is checked without
-- counting.
CREATE TABLE database_rows (
    id          TEXT PRIMARY KEY,
    database_id TEXT NOT NULL,
    "values"    TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX database_rows_by_database ON database_rows (database_id, id);

CREATE TABLE database_keys (
    database_id TEXT NOT NULL,
    "column"    TEXT NOT NULL,
    key         TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    PRIMARY KEY (database_id, "column", key, row_id)
) WITHOUT ROWID;
CREATE INDEX database_keys_by_row ON database_keys (row_id);

CREATE TABLE database_unique (
    database_id TEXT NOT NULL,
    "column"    TEXT NOT NULL,
    key         TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    PRIMARY KEY (database_id, "column", key)
) WITHOUT ROWID;
CREATE INDEX database_unique_by_row ON database_unique (row_id);

CREATE TABLE database_sizes (
    database_id TEXT PRIMARY KEY,
    rows        INTEGER NOT NULL
);
