-- What text analytics learns and the company edits (see the SQLite twin).
CREATE TABLE sentiment_models (
    language   TEXT PRIMARY KEY,
    model      TEXT        NOT NULL,
    trained_on BIGINT      NOT NULL,
    trained_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE taxonomy (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    definition TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
