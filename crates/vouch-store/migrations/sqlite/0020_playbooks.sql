-- Nurturing paths. A playbook's current definition (JSON, a
-- vouch_domain::playbooks::PlaybookSpec) and every version it had, so a
-- run finishes with the version that started it. default_key names the
-- defaults Vouch installs (NULL for a company's own).
CREATE TABLE playbooks (
    id          INTEGER PRIMARY KEY,
    default_key TEXT UNIQUE,
    name        TEXT        NOT NULL,
    version     INTEGER      NOT NULL,
    enabled     INTEGER     NOT NULL,
    spec        TEXT        NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE playbook_versions (
    playbook_id INTEGER      NOT NULL REFERENCES playbooks (id) ON DELETE CASCADE,
    version     INTEGER      NOT NULL,
    spec        TEXT        NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (playbook_id, version)
);

-- One run per playbook, version, subject and triggering event (run_key):
-- the same event never runs a playbook twice. seed decides the hold-out
-- and random audiences, and is kept so the draw can be checked.
CREATE TABLE playbook_runs (
    id          INTEGER PRIMARY KEY,
    playbook_id INTEGER      NOT NULL REFERENCES playbooks (id) ON DELETE CASCADE,
    version     INTEGER      NOT NULL,
    customer_id INTEGER      REFERENCES customers (id) ON DELETE CASCADE,
    event_id    TEXT        NOT NULL,
    run_key     TEXT        NOT NULL UNIQUE,
    seed        INTEGER      NOT NULL,
    ordinal     INTEGER      NOT NULL,
    matched     INTEGER     NOT NULL,
    held_out    INTEGER     NOT NULL,
    state       TEXT        NOT NULL CHECK (state IN ('running', 'done', 'skipped', 'cancelled')),
    -- A `wait` step's awaited event: when it comes, the next step runs now.
    waiting_for TEXT,
    waiting_step INTEGER,
    started_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX playbook_runs_by_customer ON playbook_runs (customer_id);
CREATE INDEX playbook_runs_by_playbook ON playbook_runs (playbook_id, started_at);

-- Every decision of a run: the conditions checked, each step done,
-- skipped, denied (with its compliance rule), deferred or cancelled.
-- done_key ('RUN:STEP') is set on a step's final entry, so a step whose
-- worker died half-way is never done twice.
CREATE TABLE playbook_log (
    id       INTEGER PRIMARY KEY,
    run_id   INTEGER      NOT NULL REFERENCES playbook_runs (id) ON DELETE CASCADE,
    step     INTEGER,
    action   TEXT,
    outcome  TEXT        NOT NULL,
    rule     TEXT,
    detail   TEXT        NOT NULL,
    done_key TEXT UNIQUE,
    at       TEXT NOT NULL
);
CREATE INDEX playbook_log_by_run ON playbook_log (run_id);

-- Close-the-loop work. signal_type/signal_id name the answer or feedback
-- that caused the task; run_id and step the playbook step that opened it
-- (unique, so a retried step opens no second task).
CREATE TABLE tasks (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER      REFERENCES customers (id) ON DELETE CASCADE,
    task_type          TEXT        NOT NULL CHECK (task_type IN ('close_loop', 'risk', 'opportunity', 'advocacy')),
    reason             TEXT        NOT NULL,
    priority           TEXT        NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    state              TEXT        NOT NULL CHECK (state IN ('open', 'in_progress', 'snoozed', 'closed')),
    team               TEXT,
    owner              TEXT,
    signal_type        TEXT,
    signal_id          INTEGER,
    run_id             INTEGER      REFERENCES playbook_runs (id) ON DELETE SET NULL,
    step               INTEGER,
    sla                TEXT        NOT NULL,
    first_response_due TEXT NOT NULL,
    due_at             TEXT NOT NULL,
    first_response_at  TEXT,
    closed_at          TEXT,
    resolution         TEXT,
    note               TEXT,
    overdue            INTEGER     NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (run_id, step)
);
CREATE INDEX tasks_by_customer ON tasks (customer_id);
CREATE INDEX tasks_open ON tasks (state, due_at);

-- Feedback sent to the team that can act on it.
CREATE TABLE feedback_routes (
    feedback_id INTEGER      NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    team        TEXT        NOT NULL,
    topic       TEXT,
    run_id      INTEGER      REFERENCES playbook_runs (id) ON DELETE SET NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (feedback_id, team)
);

CREATE TABLE customer_tags (
    customer_id INTEGER      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag         TEXT        NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);

-- Teams (members are staff emails, a JSON array) and the ordered rules
-- that route a task to a team; next_member is the round-robin's turn.
CREATE TABLE teams (
    name        TEXT   PRIMARY KEY,
    members     TEXT   NOT NULL,
    next_member INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE routing_rules (
    id         INTEGER PRIMARY KEY,
    position   INTEGER NOT NULL,
    conditions TEXT    NOT NULL,
    team       TEXT    NOT NULL
);

-- Unsubscribe links of playbook messages: only the token's hash is kept.
CREATE TABLE unsubscribe_tokens (
    token_hash  TEXT        PRIMARY KEY,
    customer_id INTEGER      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose     TEXT        NOT NULL,
    created_at  TEXT NOT NULL
);
