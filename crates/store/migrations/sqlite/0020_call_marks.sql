-- Calls that must not be repeated (a web service's POST or PATCH), marked before they are made:
-- a turn run again after a crash finds its mark and does not call again.
CREATE TABLE call_marks (
    key        TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
CREATE INDEX call_marks_by_age ON call_marks (created_at);
