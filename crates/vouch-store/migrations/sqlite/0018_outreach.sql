-- Consent per customer and purpose, with its basis, source and evidence.
-- The current record only; each change is a consent.changed event too.
CREATE TABLE consents (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('feedback', 'marketing', 'referral', 'advocacy')),
    granted     INTEGER NOT NULL,
    basis       TEXT    NOT NULL CHECK (basis IN ('consent', 'soft_opt_in', 'legitimate_interest')),
    source      TEXT    NOT NULL,
    evidence    TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, purpose)
);

-- Addresses never to mail, per scope: 'all' (a bounce, a complaint) or
-- one purpose (an unsubscribe from that kind of message). Keyed by
-- Email::match_key. Replaces email_suppressions, whose rows all become 'all'.
CREATE TABLE suppressions (
    email  TEXT NOT NULL,
    scope  TEXT NOT NULL CHECK (scope IN ('all', 'feedback', 'marketing', 'referral', 'advocacy')),
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained')),
    at     TEXT NOT NULL,
    PRIMARY KEY (email, scope)
);
INSERT INTO suppressions (email, scope, reason, at) SELECT email, 'all', reason, at FROM email_suppressions;
DROP TABLE email_suppressions;

-- Every message a customer was sent, is about to be sent (reserved) or
-- had deferred or skipped, and why: the one contact budget counts the
-- reserved and sent ones. message_id is stable per job, so a retried send
-- finds its reservation instead of spending twice.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose     TEXT    NOT NULL,
    what        TEXT    NOT NULL,
    message_id  TEXT    NOT NULL UNIQUE,
    state       TEXT    NOT NULL CHECK (state IN ('reserved', 'sent', 'failed', 'deferred', 'skipped')),
    reason      TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX contacts_by_customer ON contacts (customer_id, at);
