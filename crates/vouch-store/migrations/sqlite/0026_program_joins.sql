-- Links that let a customer join the program: sent in the program's own
-- invitation (joined_by 'invitation': trusted) or asked for on the open
-- join page (joined_by 'open_sign_up': untrusted). Only the token's hash
-- is kept; a link works once, until expires_at.
CREATE TABLE program_joins (
    token_hash  TEXT PRIMARY KEY,
    customer_id INTEGER     NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    joined_by   TEXT        NOT NULL CHECK (joined_by IN ('invitation', 'open_sign_up')),
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX program_joins_by_customer ON program_joins (customer_id);
