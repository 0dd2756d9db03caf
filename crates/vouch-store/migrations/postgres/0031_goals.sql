-- SMART goals on the KPIs (vouch-domain::goals): the baseline measured
-- when the goal was set, and every check-in since, each with its interval.
CREATE TABLE goals (
    id              BIGSERIAL PRIMARY KEY,
    kpi             TEXT    NOT NULL,
    -- Review KPIs: the platform (none: all of them).
    platform        TEXT,
    -- The answers a survey KPI counts (JSON: surveys, channels, languages, attributes).
    segment         TEXT    NOT NULL,
    direction       TEXT    NOT NULL,
    baseline        DOUBLE PRECISION NOT NULL,
    baseline_low    DOUBLE PRECISION NOT NULL,
    baseline_high   DOUBLE PRECISION NOT NULL,
    target          DOUBLE PRECISION NOT NULL,
    start_on        DATE NOT NULL,
    deadline        DATE NOT NULL,
    owner           TEXT    NOT NULL,
    cadence         TEXT    NOT NULL,
    specific        TEXT    NOT NULL,
    relevant        TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    next_checkin_on DATE NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE TABLE goal_checkins (
    goal_id BIGINT NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
    day     DATE NOT NULL,
    -- None: nothing to measure that day (no answers in the window).
    value   DOUBLE PRECISION,
    ci_low  DOUBLE PRECISION,
    ci_high DOUBLE PRECISION,
    status  TEXT NOT NULL,
    PRIMARY KEY (goal_id, day)
);
