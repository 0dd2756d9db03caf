-- Staff accounts, their sessions (in the database, so several server
-- instances share them) and API tokens. Secrets are stored only as hashes.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'analyst', 'agent', 'viewer')),
    password_hash TEXT NOT NULL, -- Argon2id, PHC string
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY, -- SHA-256 of the cookie value
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'analyst', 'agent', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE, -- SHA-256 of the token
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
