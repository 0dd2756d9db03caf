-- Advocacy maturity self-assessments (vouch-domain::maturity): the level
-- chosen per dimension, the target level per dimension, and the overall
-- level (the lowest), kept as history.
CREATE TABLE maturity_assessments (
    id          BIGSERIAL PRIMARY KEY,
    -- JSON: {"dimension": level}.
    levels      TEXT    NOT NULL,
    targets     TEXT    NOT NULL,
    overall     BIGINT NOT NULL,
    assessed_by TEXT    NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
