-- People erased on request (GDPR art. 17): a keyed hash (HMAC-SHA256) of
-- each identifier they had (email, external id, platform handle), so an
-- import of an old file cannot bring them back, while the identifiers
-- themselves are gone.
CREATE TABLE erased_identifiers (
    hash      TEXT PRIMARY KEY,
    erased_at TEXT NOT NULL
);
