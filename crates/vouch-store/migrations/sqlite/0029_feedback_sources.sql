-- Connectors: vendor APIs pulled on a schedule. The credentials are sealed
-- (see sealed.rs); the cursor says where the next sync starts.
CREATE TABLE feedback_sources (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL,
    base_url      TEXT    NOT NULL,
    account       TEXT    NOT NULL,
    credentials   TEXT    NOT NULL,
    cursor        TEXT,
    every_minutes INTEGER NOT NULL,
    last_sync_at  TEXT,
    next_sync_at  TEXT,
    items_pulled  INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT    NOT NULL
);
