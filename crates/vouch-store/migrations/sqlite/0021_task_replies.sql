-- Staff replies to a task's customer. The text waits here, not in the
-- job queue; sent_at is set when the mail server took it, and the first
-- one sent stops the task's first-response clock.
CREATE TABLE task_replies (
    id         INTEGER PRIMARY KEY,
    task_id    INTEGER      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author     TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    message_id TEXT,
    created_at TEXT NOT NULL,
    sent_at    TEXT
);
CREATE INDEX task_replies_by_task ON task_replies (task_id);
