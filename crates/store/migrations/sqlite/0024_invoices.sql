-- Invoices (seed 003 §11): the number unique, each identifier an invoice is looked up by kept
-- in canonical form (phones in E.164, the email in lower case) and indexed, the amount in
-- minor units. Lookups that find several take the oldest or most recent by due date (those
-- without one last), then by creation.
CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    customer_number TEXT,
    mobile_phone    TEXT,
    landline        TEXT,
    email           TEXT,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    due_date        TEXT,
    status          TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX invoices_by_customer_number ON invoices (customer_number) WHERE customer_number IS NOT NULL;
CREATE INDEX invoices_by_mobile_phone ON invoices (mobile_phone) WHERE mobile_phone IS NOT NULL;
CREATE INDEX invoices_by_landline ON invoices (landline) WHERE landline IS NOT NULL;
CREATE INDEX invoices_by_email ON invoices (email) WHERE email IS NOT NULL;
CREATE INDEX invoices_by_status ON invoices (status, id);
