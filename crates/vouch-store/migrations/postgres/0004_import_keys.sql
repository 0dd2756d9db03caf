-- Answers imported from other survey tools carry a key that is the same at
-- every import of the same row (survey, respondent, time; or a hash), so a
-- re-import updates instead of duplicating. Answers given in Vouch have none.
ALTER TABLE responses ADD COLUMN import_key TEXT;
CREATE UNIQUE INDEX responses_by_import_key ON responses (import_key);
