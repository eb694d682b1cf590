-- Survey responses (seed 003 §10): the survey *Survey* attached to an interaction, conducted
-- once it closes — in the channel (messaging: the customer's next messages on the entry point
-- are its answers; `question` and `attempts` say where it stands) or through a page whose link
-- went by email (`token_hash`: the SHA-256 of the link's token; the token itself is not kept).
-- One survey per interaction. `expires_at`: after it, the response reads as expired.
CREATE TABLE survey_responses (
    id             TEXT PRIMARY KEY,
    survey_id      TEXT NOT NULL,
    interaction_id TEXT NOT NULL UNIQUE,
    entry_point_id TEXT,
    customer       TEXT NOT NULL,
    customer_id    TEXT,
    channel        TEXT NOT NULL,
    status         TEXT NOT NULL,
    question       INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    answers        TEXT NOT NULL DEFAULT '{}',
    token_hash     TEXT UNIQUE,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    expires_at     INTEGER,
    completed_at   INTEGER
);
CREATE INDEX survey_responses_waiting ON survey_responses (entry_point_id, customer, status);
CREATE INDEX survey_responses_by_survey ON survey_responses (survey_id, id);
