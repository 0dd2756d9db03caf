-- Staff invited by an emailed single-use link: the link's token is kept
-- only as its SHA-256; it expires, and works once.
CREATE TABLE staff_invitations (
    token_hash TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'analyst', 'agent', 'viewer')),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
