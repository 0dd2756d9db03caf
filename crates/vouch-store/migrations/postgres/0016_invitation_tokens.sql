-- A survey link's token is made when its email is sent (invitation or
-- reminder, each its own) and only its hash is kept, here; nothing waits
-- in the job queue. invitations.token_hash keeps the hashes of links sent
-- before this table existed (new invitations get an unusable one).
CREATE TABLE invitation_tokens (
    token_hash    TEXT    PRIMARY KEY,
    invitation_id BIGINT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ    NOT NULL
);
CREATE INDEX invitation_tokens_by_invitation ON invitation_tokens (invitation_id);
