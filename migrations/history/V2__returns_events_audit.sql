-- The history store, version 2.
--
-- Smaller: a run's messages to one customer share their claim (stage, template, amount,
-- the invoices, the time), so the claim is kept once per customer and run (`claims`,
-- `claim_invoices`) and each message (`contacts`) keeps only its channel, its outcome,
-- its Message-ID and its link. V1's contacts and contact_invoices are moved over (their
-- link tokens are not: V1 kept the token, V2 an identifier of it).
-- New: what came back (bounces and complaints), events from the portal or the CRM, and
-- the audit trail of each outbox.
--
-- `/*WITHOUT ROWID*/` becomes SQLite's WITHOUT ROWID (the table is its primary key's
-- index, not a table plus that index); PostgreSQL reads it as a comment.

CREATE TABLE claims (
    run          BIGINT NOT NULL,
    customer     TEXT NOT NULL,
    stage        TEXT NOT NULL,
    template     TEXT NOT NULL,       -- '' when it is the stage's own
    currency     TEXT NOT NULL,
    amount       TEXT NOT NULL,       -- decimal, as written
    scheduled_at TEXT NOT NULL,       -- RFC 3339 with the customer's offset
    PRIMARY KEY (run, customer)
) /*WITHOUT ROWID*/;
CREATE INDEX claims_by_customer ON claims (customer);

CREATE TABLE claim_invoices (
    run          BIGINT NOT NULL,
    customer     TEXT NOT NULL,
    invoice      TEXT NOT NULL,
    open_amount  TEXT NOT NULL,       -- at the run's as_of
    PRIMARY KEY (run, customer, invoice)
) /*WITHOUT ROWID*/;

CREATE TABLE messages (
    run          BIGINT NOT NULL,
    customer     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    state        TEXT NOT NULL,       -- written, then the send journal's; delivered for a posted letter
    state_at     TEXT NOT NULL,       -- when that state was recorded (RFC 3339, UTC)
    message_id   TEXT NOT NULL,       -- an e-mail's Message-ID without its domain, or ''
    link         TEXT NOT NULL,       -- the first 16 hex digits of the link token's SHA-256, or ''
    PRIMARY KEY (run, customer, channel)
) /*WITHOUT ROWID*/;

INSERT INTO claims (run, customer, stage, template, currency, amount, scheduled_at)
    SELECT run, customer, MIN(stage), MIN(CASE WHEN template = stage THEN '' ELSE template END),
           MIN(currency), MIN(amount), MIN(scheduled_at)
    FROM contacts GROUP BY run, customer;
INSERT INTO claim_invoices (run, customer, invoice, open_amount)
    SELECT i.run, c.customer, i.invoice, MIN(i.open_amount)
    FROM contact_invoices i JOIN contacts c ON c.run = i.run AND c.id = i.id
    GROUP BY i.run, c.customer, i.invoice;
INSERT INTO messages (run, customer, channel, state, state_at, message_id, link)
    SELECT run, customer, channel, state, state_at, '', '' FROM contacts;
DROP TABLE contact_invoices;
DROP TABLE contacts;

CREATE TABLE segments_v2 (
    run          BIGINT NOT NULL,
    customer     TEXT NOT NULL,
    cluster      TEXT NOT NULL,
    rule         TEXT NOT NULL,
    PRIMARY KEY (run, customer)
) /*WITHOUT ROWID*/;
INSERT INTO segments_v2 (run, customer, cluster, rule) SELECT run, customer, cluster, rule FROM segments;
DROP TABLE segments;
ALTER TABLE segments_v2 RENAME TO segments;
CREATE INDEX segments_by_customer ON segments (customer);

-- Delivery status notifications (RFC 3464) and feedback reports (RFC 5965) read from a
-- mailbox, matched back to their message by the original Message-ID.
CREATE TABLE returns (
    key          TEXT PRIMARY KEY,    -- SHA-256 of the notification's bytes: reading it twice adds nothing
    received_at  TEXT NOT NULL,       -- the notification's Date (RFC 3339, UTC), or ''
    kind         TEXT NOT NULL,       -- bounce | refused | complaint | not_spam | delayed | other
    action       TEXT NOT NULL,       -- the DSN's Action (failed, delayed, …) or the feedback type
    status       TEXT NOT NULL,       -- RFC 3463 status code (5.1.1 …), or ''
    address      TEXT NOT NULL,       -- the recipient it is about, or '' when redacted
    message_id   TEXT NOT NULL,       -- the original message's Message-ID, or ''
    customer     TEXT NOT NULL,       -- the matched customer, or '' when nothing matched
    detail       TEXT NOT NULL,       -- the diagnostic or the report's text, shortened
    source       TEXT NOT NULL,       -- MAILBOX and the message's place in it
    recorded_at  TEXT NOT NULL
);
CREATE INDEX returns_by_customer ON returns (customer);

-- Events as events.csv has them (plus a promised amount), from `history events` and
-- derived from returns (a bounce, an abuse complaint as an e-mail opt-out).
CREATE TABLE events (
    key              TEXT PRIMARY KEY, -- SHA-256 of the event's fields: recording twice adds nothing
    customer         TEXT NOT NULL,
    kind             TEXT NOT NULL,    -- events.csv's words, and `bounced`
    date             TEXT NOT NULL,    -- YYYY-MM-DD
    channel          TEXT NOT NULL,
    reference        TEXT NOT NULL,    -- for a bounce: the address that bounced
    note             TEXT NOT NULL,
    promised_date    TEXT NOT NULL,    -- YYYY-MM-DD or ''
    promised_amount  TEXT NOT NULL,    -- decimal or ''
    source           TEXT NOT NULL,    -- FILE:LINE, or the return's source
    recorded_at      TEXT NOT NULL
);
CREATE INDEX events_by_customer ON events (customer);

-- Who did what to which outbox: approve, send, posted.
CREATE TABLE audit (
    outbox       TEXT NOT NULL,       -- the manifest's SHA-256 (hex)
    action       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    detail       TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (outbox, action, actor, detail)
);
