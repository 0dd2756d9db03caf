-- Staff replies to a task's customer. The text waits here, not in the
-- job queue; sent_at is set when the mail server took it, and the first
-- one sent stops the task's first-response clock.
CREATE TABLE task_replies (
    id         BIGSERIAL PRIMARY KEY,
    task_id    BIGINT      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author     TEXT        NOT NULL,
    subject    TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    message_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at    TIMESTAMPTZ
);
CREATE INDEX task_replies_by_task ON task_replies (task_id);
