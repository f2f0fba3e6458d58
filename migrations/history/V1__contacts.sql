-- The history store, version 1: each recorded run (one outbox), the contacts it made
-- with the invoices they claimed, their delivery state, and the run's segmentation.
-- Plain SQL that SQLite and PostgreSQL both read. Everything is written with
-- ON CONFLICT DO NOTHING (or an update to a later state): recording twice adds nothing.

CREATE TABLE runs (
    run          BIGINT PRIMARY KEY,  -- the first 8 bytes of the manifest's SHA-256
    outbox       TEXT NOT NULL,       -- the manifest's SHA-256 (hex)
    campaign     TEXT NOT NULL,
    shard        TEXT NOT NULL,       -- "I/N", or "" for a whole run
    as_of        TEXT NOT NULL,       -- YYYY-MM-DD
    messages     BIGINT NOT NULL,
    source       TEXT NOT NULL,       -- send | import
    recorded_at  TEXT NOT NULL        -- RFC 3339, UTC
);

CREATE TABLE contacts (
    run          BIGINT NOT NULL,
    id           TEXT NOT NULL,       -- the manifest id: CUSTOMER-CHANNEL
    customer     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    stage        TEXT NOT NULL,
    cluster      TEXT NOT NULL,
    template     TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount       TEXT NOT NULL,       -- decimal, as written
    token        TEXT NOT NULL,       -- the payment link's token (its last path segment)
    scheduled_at TEXT NOT NULL,       -- RFC 3339 with the customer's offset
    state        TEXT NOT NULL,       -- written, then the send journal's state
    state_at     TEXT NOT NULL,       -- when that state was recorded (RFC 3339, UTC)
    PRIMARY KEY (run, id)
);
CREATE INDEX contacts_by_customer ON contacts (customer);

CREATE TABLE contact_invoices (
    run          BIGINT NOT NULL,
    id           TEXT NOT NULL,
    invoice      TEXT NOT NULL,
    open_amount  TEXT NOT NULL,
    PRIMARY KEY (run, id, invoice)
);

CREATE TABLE segments (
    run          BIGINT NOT NULL,
    customer     TEXT NOT NULL,
    cluster      TEXT NOT NULL,
    rule         TEXT NOT NULL,
    PRIMARY KEY (run, customer)
);
CREATE INDEX segments_by_customer ON segments (customer);
