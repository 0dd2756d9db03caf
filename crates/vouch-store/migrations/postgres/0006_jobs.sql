-- A durable job queue and outgoing webhooks. Several server processes claim
-- jobs with FOR UPDATE SKIP LOCKED; see Store::claim_job.
CREATE TABLE jobs (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT        NOT NULL,
    payload      JSONB       NOT NULL,
    state        TEXT        NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts     INTEGER     NOT NULL DEFAULT 0,
    max_attempts INTEGER     NOT NULL,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_by    TEXT,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);
CREATE INDEX jobs_ready ON jobs (state, run_at);

CREATE TABLE webhooks (
    id         BIGSERIAL PRIMARY KEY,
    url        TEXT        NOT NULL,
    secret     TEXT        NOT NULL, -- the HMAC key; it must be readable to sign
    events     JSONB       NOT NULL, -- array of event names
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    webhook_id   BIGINT      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    job_id       BIGINT      NOT NULL,
    event        TEXT        NOT NULL,
    attempt      INTEGER     NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  BIGINT      NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- Customers are matched by email case-insensitively (Email::match_key),
-- so two customers may not differ only in the case of their email.
CREATE UNIQUE INDEX customers_by_email_match ON customers (lower(email));
