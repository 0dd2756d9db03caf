-- Rate-limited actions (failed sign-ins, anonymous survey answers), one row
-- each, so every server instance sharing the database counts the same
-- attempts. The key is a SHA-256 of what is limited (an account, an
-- address, or the pair), so no email or address is kept here.
CREATE TABLE attempts (
    key_hash TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX attempts_by_key ON attempts (key_hash, at);
