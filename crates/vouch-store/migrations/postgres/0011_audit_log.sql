-- What staff did (sign-ins, role and password changes, exports, erasures,
-- settings, every API write with the token's id): append-only, kept with
-- the rest of the database, so every backup holds it.
CREATE TABLE audit_log (
    id     BIGSERIAL PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    actor  TEXT NOT NULL,   -- a staff email, "token N (name)" or "cli"
    action TEXT NOT NULL,   -- sign_in, sign_in_failed, api POST /api/v1/…, user.role…
    target TEXT,            -- what it was done to, when there is one
    client TEXT             -- the client's address, for requests
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
