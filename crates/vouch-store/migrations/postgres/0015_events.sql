-- The outbox: every change to a customer's data is an event, written in the
-- transaction of the change. `seq` is the consumers' cursor: writers take
-- an advisory lock before they insert events and hold it to commit, so
-- sequence numbers become visible in order (see vouch-store events.rs).
CREATE TABLE events (
    seq         BIGSERIAL   PRIMARY KEY,
    id          TEXT        NOT NULL,
    type        TEXT        NOT NULL,
    version     INTEGER     NOT NULL,
    customer_id BIGINT,
    occurred_at TIMESTAMPTZ NOT NULL,
    data        JSONB       NOT NULL
);
CREATE INDEX events_by_customer ON events (customer_id) WHERE customer_id IS NOT NULL;

-- Where each consumer of the outbox has read to (webhooks, playbooks, …).
CREATE TABLE event_consumers (
    name       TEXT        PRIMARY KEY,
    position   BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- A job may name what it is for; two pending jobs for the same thing
-- cannot exist, and pending work can be cancelled by its key.
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX jobs_pending_by_key ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
