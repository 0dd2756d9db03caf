-- A durable job queue and outgoing webhooks. On SQLite one server process
-- (the single writer) claims jobs; see Store::claim_job.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       TEXT    NOT NULL,
    locked_by    TEXT,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE INDEX jobs_ready ON jobs (state, run_at);

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL, -- the HMAC key; it must be readable to sign
    events     TEXT NOT NULL, -- JSON array of event names
    created_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    webhook_id   INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    job_id       INTEGER NOT NULL,
    event        TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    delivered_at TEXT    NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Customers are matched by email case-insensitively (Email::match_key),
-- so two customers may not differ only in the case of their email.
CREATE UNIQUE INDEX customers_by_email_match ON customers (lower(email));
