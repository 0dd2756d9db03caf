-- The inbox's search index is filled behind the writes, not inside them:
-- indexing a review's words cost an import as much as everything else
-- together (11,600 reviews/s with the index kept by the insert trigger,
-- 21,900 without). A new or edited item waits in the backlog; the search
-- job (and a search that finds a short backlog) indexes it in batches.
CREATE TABLE feedback_search_backlog (
    feedback_id INTEGER PRIMARY KEY
);
-- What was written before this migration is indexed already.
DROP TRIGGER feedback_search_inserted;
CREATE TRIGGER feedback_search_inserted AFTER INSERT ON feedback_items BEGIN
    INSERT OR IGNORE INTO feedback_search_backlog (feedback_id) VALUES (new.id);
END;
-- An item still in the backlog has nothing in the index to take out;
-- erasing it takes it out of the backlog, so its words never get in.
DROP TRIGGER feedback_search_deleted;
CREATE TRIGGER feedback_search_deleted AFTER DELETE ON feedback_items BEGIN
    INSERT INTO feedback_search (feedback_search, rowid, title, body)
        SELECT 'delete', old.id, old.title, old.body
        WHERE NOT EXISTS (SELECT 1 FROM feedback_search_backlog WHERE feedback_id = old.id);
    DELETE FROM feedback_search_backlog WHERE feedback_id = old.id;
END;
DROP TRIGGER feedback_search_changed;
CREATE TRIGGER feedback_search_changed AFTER UPDATE OF title, body ON feedback_items BEGIN
    INSERT INTO feedback_search (feedback_search, rowid, title, body)
        SELECT 'delete', old.id, old.title, old.body
        WHERE NOT EXISTS (SELECT 1 FROM feedback_search_backlog WHERE feedback_id = old.id);
    INSERT OR IGNORE INTO feedback_search_backlog (feedback_id) VALUES (new.id);
END;

