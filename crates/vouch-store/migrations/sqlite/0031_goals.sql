-- SMART goals on the KPIs (vouch-domain::goals): the baseline measured
-- when the goal was set, and every check-in since, each with its interval.
CREATE TABLE goals (
    id              INTEGER PRIMARY KEY,
    kpi             TEXT    NOT NULL,
    -- Review KPIs: the platform (none: all of them).
    platform        TEXT,
    -- The answers a survey KPI counts (JSON: surveys, channels, languages, attributes).
    segment         TEXT    NOT NULL,
    direction       TEXT    NOT NULL,
    baseline        REAL NOT NULL,
    baseline_low    REAL NOT NULL,
    baseline_high   REAL NOT NULL,
    target          REAL NOT NULL,
    start_on        TEXT NOT NULL,
    deadline        TEXT NOT NULL,
    owner           TEXT    NOT NULL,
    cadence         TEXT    NOT NULL,
    specific        TEXT    NOT NULL,
    relevant        TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    next_checkin_on TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE TABLE goal_checkins (
    goal_id INTEGER NOT NULL REFERENCES goals (id) ON DELETE CASCADE,
    day     TEXT NOT NULL,
    -- None: nothing to measure that day (no answers in the window).
    value   REAL,
    ci_low  REAL,
    ci_high REAL,
    status  TEXT NOT NULL,
    PRIMARY KEY (goal_id, day)
);
