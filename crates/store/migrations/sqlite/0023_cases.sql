-- Cases (seed 003 §5): a case of a case type (a business object), its reference unique, its
-- fields as JSON in canonical form, the customer it is about. `case_links` keeps every link of
-- an interaction to a case, from when to when; at most one link of an interaction is current
-- (`unlinked_at` NULL). `case_numbers` hands out the numbers of new references.
CREATE TABLE cases (
    id           TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    case_type_id TEXT NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    fields       TEXT NOT NULL,
    customer_id  TEXT,
    revision     INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX cases_by_customer ON cases (customer_id, id) WHERE customer_id IS NOT NULL;
CREATE INDEX cases_by_type ON cases (case_type_id, id);

CREATE TABLE case_links (
    case_id        TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    linked_at      INTEGER NOT NULL,
    unlinked_at    INTEGER
);
CREATE INDEX case_links_by_case ON case_links (case_id, linked_at);
CREATE UNIQUE INDEX case_links_now ON case_links (interaction_id) WHERE unlinked_at IS NULL;

CREATE TABLE case_numbers (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
