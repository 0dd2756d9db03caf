-- The inbox: full-text search over feedback, and the work staff do on
-- each item (assign, mark handled, tag, note) and the views they save.

-- FTS5 over titles and bodies, its content read from feedback_items.
-- unicode61 with remove_diacritics 2 folds "factură" and "factura" (and
-- ș/ş, ț/ţ) to one token, in the index and in every query alike.
-- The triggers keep it in step with every write, erasure included.
CREATE VIRTUAL TABLE feedback_search USING fts5(
    title, body,
    content = 'feedback_items', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO feedback_search (feedback_search) VALUES ('rebuild');
CREATE TRIGGER feedback_search_inserted AFTER INSERT ON feedback_items BEGIN
    INSERT INTO feedback_search (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER feedback_search_deleted AFTER DELETE ON feedback_items BEGIN
    INSERT INTO feedback_search (feedback_search, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER feedback_search_changed AFTER UPDATE OF title, body ON feedback_items BEGIN
    INSERT INTO feedback_search (feedback_search, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO feedback_search (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

-- Who works an item (a staff email) and when it was marked handled.
ALTER TABLE feedback_items ADD COLUMN assignee TEXT;
ALTER TABLE feedback_items ADD COLUMN handled_at TEXT;
CREATE INDEX feedback_items_unhandled ON feedback_items (posted_at, id) WHERE handled_at IS NULL;

CREATE TABLE feedback_tags (
    feedback_id INTEGER NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    tag         TEXT    NOT NULL,
    PRIMARY KEY (feedback_id, tag)
);
CREATE INDEX feedback_tags_by_tag ON feedback_tags (tag, feedback_id);

-- Internal notes; the form's key makes a resent note one note.
CREATE TABLE feedback_notes (
    id          INTEGER PRIMARY KEY,
    feedback_id INTEGER NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    author      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    UNIQUE (feedback_id, key)
);

-- A staff user's named inbox filters (the query string of /feedback).
CREATE TABLE saved_views (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL,
    query   TEXT    NOT NULL,
    UNIQUE (user_id, name)
);

-- What became of each invitation, for a survey's distribution counts:
-- its page opened (first time), its address bounced.
ALTER TABLE invitations ADD COLUMN opened_at TEXT;
ALTER TABLE invitations ADD COLUMN bounced_at TEXT;
