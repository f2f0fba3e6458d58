-- The history store, version 2: what came back (bounces and complaints), events from
-- the portal or the CRM, the audit trail of each outbox, and the Message-ID and address
-- of each contact, by which a bounce or a complaint finds its customer.

ALTER TABLE contacts ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN address TEXT NOT NULL DEFAULT '';  -- the e-mail address or number written to
CREATE INDEX contacts_by_message_id ON contacts (message_id);

-- Delivery status notifications (RFC 3464) and feedback reports (RFC 5965) read from a
-- mailbox, matched back to their contact by the original Message-ID.
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

-- Who did what to which outbox: run, approve, send, import, posted, cutoff.
CREATE TABLE audit (
    outbox       TEXT NOT NULL,       -- the manifest's SHA-256 (hex)
    action       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    detail       TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (outbox, action, actor, detail)
);
