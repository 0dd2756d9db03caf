-- The outbox: every change to a customer's data is an event, written in the
-- transaction of the change. `seq` is the consumers' cursor; AUTOINCREMENT
-- so a pruned-empty table never hands out a number a cursor has passed.
-- Few indexes: every import batch writes here. Readers go by seq (consumers,
-- deliveries); ids are unique by construction (time and 80 random bits).
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    customer_id INTEGER,
    occurred_at TEXT    NOT NULL,
    data        TEXT    NOT NULL
);
CREATE INDEX events_by_customer ON events (customer_id) WHERE customer_id IS NOT NULL;

-- Where each consumer of the outbox has read to (webhooks, playbooks, …).
CREATE TABLE event_consumers (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
);

-- A job may name what it is for; two pending jobs for the same thing
-- cannot exist, and pending work can be cancelled by its key.
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX jobs_pending_by_key ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');
