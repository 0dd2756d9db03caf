-- Recurring work: each schedule queues its job once per slot (every
-- every_secs), whichever instance gets there first; see Store::fire_due_schedules.
CREATE TABLE schedules (
    name       TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    payload    JSONB    NOT NULL,
    every_secs BIGINT NOT NULL CHECK (every_secs > 0),
    next_at    TIMESTAMPTZ    NOT NULL,
    fired_at   TIMESTAMPTZ
);
