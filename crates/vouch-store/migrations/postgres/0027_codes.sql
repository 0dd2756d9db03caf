-- Gift codes a company loads for a reward: one is handed out when a
-- redemption of it is fulfilled, or to a referred friend when the reward
-- is the referral rule's friend reward. The code is sealed like other
-- secrets; code_hash (SHA-256 of reward and code) keeps a re-upload from
-- adding a code twice. A gift-code reward's stock is its free codes.
CREATE TABLE reward_codes (
    id            BIGSERIAL PRIMARY KEY,
    reward_id     BIGINT      NOT NULL REFERENCES rewards (id),
    code_hash     TEXT        NOT NULL,
    code          TEXT        NOT NULL,
    redemption_id BIGINT UNIQUE REFERENCES redemptions (id),
    referral_id   BIGINT UNIQUE REFERENCES referrals (id),
    handed_at     TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (reward_id, code_hash)
);
CREATE INDEX reward_codes_free ON reward_codes (reward_id, id)
    WHERE redemption_id IS NULL AND referral_id IS NULL;

-- Join codes: anyone holding one may join (untrusted, like an open
-- sign-up), up to max_uses times, until expires_at, while active.
CREATE TABLE join_codes (
    code       TEXT        PRIMARY KEY,
    max_uses   BIGINT CHECK (max_uses > 0),
    uses       BIGINT      NOT NULL DEFAULT 0,
    expires_at TIMESTAMPTZ,
    active     BOOLEAN     NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The join code a join link was asked for with (none: an open sign-up).
ALTER TABLE program_joins ADD COLUMN join_code TEXT;
