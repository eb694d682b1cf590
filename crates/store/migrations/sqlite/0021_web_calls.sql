-- Asynchronous web service calls, written with the turn that asked for them and delivered at
-- least once by the server's loop (each with its id as the Idempotency-Key).
CREATE TABLE web_calls (
    id              TEXT PRIMARY KEY,
    interaction_id  TEXT NOT NULL,
    service_id      TEXT NOT NULL,
    inputs          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    done_at         INTEGER,
    last_status     INTEGER,
    last_error      TEXT
);
CREATE INDEX web_calls_pending ON web_calls (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX web_calls_by_service ON web_calls (service_id, id);
