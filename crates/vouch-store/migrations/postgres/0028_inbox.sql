-- The inbox: full-text search over feedback, and the work staff do on
-- each item (assign, mark handled, tag, note) and the views they save.

-- A tsvector of title and body, lower-cased with diacritics folded by
-- translate() (the same FOLD_FROM/FOLD_TO the store folds queries with;
-- a test checks the two agree), so "factura" finds "factură". Generated
-- by PostgreSQL on every write, erasure included; GIN-indexed.
ALTER TABLE feedback_items ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, translate(lower(coalesce(title, '') || ' ' || body),
        'ĂÂÎȘŞȚŢăâîșşțţÁÀÄÃÅÉÈÊËÍÌÏÓÒÔÖÕÚÙÛÜÇÑáàäãåéèêëíìïóòôöõúùûüçñ',
        'aaissttaaissttaaaaaeeeeiiiooooouuuucnaaaaaeeeeiiiooooouuuucn'))
) STORED;
CREATE INDEX feedback_items_search ON feedback_items USING gin (search);

-- Who works an item (a staff email) and when it was marked handled.
ALTER TABLE feedback_items ADD COLUMN assignee TEXT;
ALTER TABLE feedback_items ADD COLUMN handled_at TIMESTAMPTZ;
CREATE INDEX feedback_items_unhandled ON feedback_items (posted_at, id) WHERE handled_at IS NULL;

CREATE TABLE feedback_tags (
    feedback_id BIGINT NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    tag         TEXT   NOT NULL,
    PRIMARY KEY (feedback_id, tag)
);
CREATE INDEX feedback_tags_by_tag ON feedback_tags (tag, feedback_id);

-- Internal notes; the form's key makes a resent note one note.
CREATE TABLE feedback_notes (
    id          BIGSERIAL   PRIMARY KEY,
    feedback_id BIGINT      NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    author      TEXT        NOT NULL,
    body        TEXT        NOT NULL,
    key         TEXT        NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    UNIQUE (feedback_id, key)
);

-- A staff user's named inbox filters (the query string of /feedback).
CREATE TABLE saved_views (
    id      BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT   NOT NULL,
    query   TEXT   NOT NULL,
    UNIQUE (user_id, name)
);

-- What became of each invitation, for a survey's distribution counts:
-- its page opened (first time), its address bounced.
ALTER TABLE invitations ADD COLUMN opened_at TIMESTAMPTZ;
ALTER TABLE invitations ADD COLUMN bounced_at TIMESTAMPTZ;
