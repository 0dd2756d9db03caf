-- Recurring work: each schedule queues its job once per slot (every
-- every_secs), whichever instance gets there first; see Store::fire_due_schedules.
CREATE TABLE schedules (
    name       TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    every_secs INTEGER NOT NULL CHECK (every_secs > 0),
    next_at    TEXT    NOT NULL,
    fired_at   TEXT
);
