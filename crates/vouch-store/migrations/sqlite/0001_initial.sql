-- Vouch schema v1 (SQLite). Times are RFC 3339 UTC text, which sorts in time order.
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    email       TEXT UNIQUE,
    name        TEXT,
    locale      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    churned_at  TEXT,
    referred_by INTEGER REFERENCES customers (id) ON DELETE SET NULL
);
CREATE INDEX customers_by_created_at ON customers (created_at);

CREATE TABLE customer_attributes (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    PRIMARY KEY (customer_id, name)
);
CREATE INDEX customer_attributes_by_value ON customer_attributes (name, value);

CREATE TABLE customer_handles (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    platform    TEXT    NOT NULL,
    handle      TEXT    NOT NULL,
    PRIMARY KEY (platform, handle)
);
CREATE INDEX customer_handles_by_customer ON customer_handles (customer_id);

CREATE TABLE surveys (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE responses (
    id          INTEGER PRIMARY KEY,
    survey_id   INTEGER NOT NULL REFERENCES surveys (id),
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    score       INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment     TEXT,
    channel     TEXT    NOT NULL,
    locale      TEXT,
    answered_at TEXT    NOT NULL,
    metadata    TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX responses_by_answered_at ON responses (answered_at);
CREATE INDEX responses_by_customer ON responses (customer_id, answered_at);
CREATE INDEX responses_by_survey ON responses (survey_id, answered_at);

CREATE TABLE feedback_items (
    id                INTEGER PRIMARY KEY,
    source            TEXT    NOT NULL,
    source_id         TEXT    NOT NULL,
    customer_id       INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    response_id       INTEGER REFERENCES responses (id) ON DELETE CASCADE,
    author_name       TEXT,
    author_handle     TEXT,
    rating_value      REAL,
    rating_min        REAL,
    rating_max        REAL,
    rating_normalized REAL,
    title             TEXT,
    body              TEXT    NOT NULL,
    language          TEXT,
    url               TEXT,
    posted_at         TEXT    NOT NULL,
    likes             INTEGER NOT NULL DEFAULT 0,
    shares            INTEGER NOT NULL DEFAULT 0,
    comments          INTEGER NOT NULL DEFAULT 0,
    sentiment         REAL,
    topics            TEXT    NOT NULL DEFAULT '[]',
    UNIQUE (source, source_id)
);
CREATE INDEX feedback_items_by_posted_at ON feedback_items (posted_at);
CREATE INDEX feedback_items_by_customer ON feedback_items (customer_id, posted_at);
