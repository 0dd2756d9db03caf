-- Surveys as the company designs them, invitations with their one-click
-- tokens (stored as SHA-256 hashes), addresses that must not be mailed,
-- and installation settings (branding).
ALTER TABLE surveys ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'archived'));
ALTER TABLE surveys ADD COLUMN slug TEXT;
ALTER TABLE surveys ADD COLUMN texts TEXT NOT NULL DEFAULT '{}';
UPDATE surveys SET slug = 's' || id;
CREATE UNIQUE INDEX surveys_by_slug ON surveys (slug);

CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY,
    survey_id       INTEGER NOT NULL REFERENCES surveys (id),
    customer_id     INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    locale          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    reminded_at     TEXT,
    response_id     INTEGER REFERENCES responses (id) ON DELETE SET NULL,
    answered_at     TEXT,
    unsubscribed_at TEXT
);
CREATE INDEX invitations_by_customer ON invitations (customer_id, created_at);

-- Keyed by Email::match_key.
CREATE TABLE email_suppressions (
    email  TEXT PRIMARY KEY,
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'bounced')),
    at     TEXT NOT NULL
);

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- CSAT and CES are counted from the answers: cover the score so a period
-- reads the index alone (the old index is its prefix).
CREATE INDEX responses_by_survey_score ON responses (survey_id, answered_at, score);
DROP INDEX responses_by_survey;

-- Items waiting for text analytics (a survey comment just given): found
-- without scanning every item.
CREATE INDEX feedback_items_untagged ON feedback_items (id) WHERE sentiment IS NULL;
