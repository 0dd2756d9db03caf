-- Connectors: vendor APIs pulled on a schedule. The credentials are sealed
-- (see sealed.rs); the cursor says where the next sync starts.
CREATE TABLE feedback_sources (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT        NOT NULL UNIQUE,
    kind          TEXT        NOT NULL,
    base_url      TEXT        NOT NULL,
    account       TEXT        NOT NULL,
    credentials   TEXT        NOT NULL,
    cursor        TEXT,
    every_minutes BIGINT      NOT NULL,
    last_sync_at  TIMESTAMPTZ,
    next_sync_at  TIMESTAMPTZ,
    items_pulled  BIGINT      NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL
);
