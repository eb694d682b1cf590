-- Tasks (seed 003 §5.9) kept by Switchyard: a name, a category, when to start and when it is
-- due, open or done, the interaction and customer it came from. `key` (the interaction's
-- effect) makes a request performed again after a crash find its task.
CREATE TABLE tasks (
    id             TEXT PRIMARY KEY,
    key            TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    category       TEXT NOT NULL,
    start_at       INTEGER,
    due_at         INTEGER,
    status         TEXT NOT NULL,
    interaction_id TEXT,
    customer_id    TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX tasks_by_status ON tasks (status, id);
CREATE INDEX tasks_by_customer ON tasks (customer_id, id) WHERE customer_id IS NOT NULL;
