-- The member portal's sign-in: a one-time link (its token's hash, single
-- use, 15 minutes) opens a session of the portal's own, apart from staff
-- sessions. Neither token rests in clear.
CREATE TABLE portal_links (
    token_hash TEXT PRIMARY KEY,
    member_id  INTEGER     NOT NULL REFERENCES program_members (id),
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX portal_links_by_member ON portal_links (member_id);
CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    member_id  INTEGER     NOT NULL REFERENCES program_members (id),
    csrf       TEXT        NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX portal_sessions_by_member ON portal_sessions (member_id);
