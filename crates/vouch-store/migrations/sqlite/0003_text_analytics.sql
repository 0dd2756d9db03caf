-- What text analytics learns and the company edits: sentiment models learnt
-- from star ratings (one per language) and the topic taxonomy (one, TOML).
CREATE TABLE sentiment_models (
    language   TEXT PRIMARY KEY,
    model      TEXT    NOT NULL, -- JSON of vouch_text::SentimentModel
    trained_on INTEGER NOT NULL,
    trained_at TEXT    NOT NULL
);

CREATE TABLE taxonomy (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    definition TEXT NOT NULL, -- TOML, as written by the company
    updated_at TEXT NOT NULL
);
