-- The advocate program. A member is a customer who joined; trusted when
-- they came through the program's own email (or staff), not a code or an
-- open sign-up. An erased customer leaves the member row (and its ledger,
-- which finance keeps) without a customer.
CREATE TABLE program_members (
    id                BIGSERIAL PRIMARY KEY,
    customer_id       BIGINT UNIQUE REFERENCES customers (id) ON DELETE SET NULL,
    status            TEXT        NOT NULL CHECK (status IN ('active', 'paused', 'left', 'banned')),
    joined_by         TEXT        NOT NULL CHECK (joined_by IN ('invitation', 'staff', 'join_code', 'open_sign_up')),
    trusted           BOOLEAN     NOT NULL,
    terms_version     TEXT,
    terms_accepted_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- The points ledger: append-only (the triggers below refuse UPDATE and
-- DELETE), each entry with a unique idempotency key so a retried award
-- is one entry. Balances are sums over it; a reversal is a new entry.
CREATE TABLE points_ledger (
    id              BIGSERIAL PRIMARY KEY,
    member_id       BIGINT      NOT NULL REFERENCES program_members (id),
    kind            TEXT        NOT NULL CHECK (kind IN ('earn', 'hold', 'release', 'redeem', 'reverse', 'adjust', 'expire')),
    amount          BIGINT      NOT NULL CHECK (amount <> 0),
    reason          TEXT        NOT NULL,
    source          TEXT        NOT NULL,
    actor           TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL UNIQUE,
    redemption_id   BIGINT,
    reverses        BIGINT REFERENCES points_ledger (id),
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX points_ledger_by_member ON points_ledger (member_id, id);
CREATE INDEX points_ledger_by_time ON points_ledger (created_at);
CREATE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the points ledger is append-only: add an offsetting entry instead'; END $$;
CREATE TRIGGER points_ledger_no_change BEFORE UPDATE OR DELETE ON points_ledger
FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();
CREATE TRIGGER points_ledger_no_truncate BEFORE TRUNCATE ON points_ledger
FOR EACH STATEMENT EXECUTE FUNCTION points_ledger_append_only();

-- The reward catalogue. stock NULL: unlimited; min_tier: a tier's name.
CREATE TABLE rewards (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT        NOT NULL,
    kind             TEXT        NOT NULL CHECK (kind IN ('gift_code', 'swag', 'donation', 'experience', 'account_credit')),
    points           BIGINT      NOT NULL CHECK (points > 0),
    stock            BIGINT CHECK (stock >= 0),
    min_tier         TEXT,
    per_member_limit INTEGER CHECK (per_member_limit > 0),
    fulfilment       TEXT        NOT NULL CHECK (fulfilment IN ('auto', 'manual')),
    active           BOOLEAN     NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- A member's request for a reward: its points are held at the request and
-- redeemed or released when it ends.
CREATE TABLE redemptions (
    id         BIGSERIAL PRIMARY KEY,
    member_id  BIGINT      NOT NULL REFERENCES program_members (id),
    reward_id  BIGINT      NOT NULL REFERENCES rewards (id),
    points     BIGINT      NOT NULL,
    state      TEXT        NOT NULL CHECK (state IN ('requested', 'pending_approval', 'backordered', 'approved', 'fulfilled', 'refused', 'cancelled')),
    -- One unit of the reward's stock is set aside for it (given back on refusal).
    stock_reserved BOOLEAN NOT NULL,
    reason     TEXT,
    decided_by TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX redemptions_by_member ON redemptions (member_id);
CREATE INDEX redemptions_by_state ON redemptions (state, id);

-- The devices a member was seen on (the portal): hashes of the visitor
-- cookie, the truncated IP and the user agent, for the same-device check.
CREATE TABLE member_devices (
    member_id   BIGINT      NOT NULL REFERENCES program_members (id),
    cookie_hash TEXT,
    ip_hash     TEXT,
    agent_hash  TEXT,
    seen_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX member_devices_by_member ON member_devices (member_id);

-- Referral links: a generated code (OS random, no look-alikes) or a
-- vanity one, with an optional cap on clicks and a switch.
CREATE TABLE referral_links (
    id         BIGSERIAL PRIMARY KEY,
    member_id  BIGINT      NOT NULL REFERENCES program_members (id),
    code       TEXT        NOT NULL UNIQUE,
    vanity     BOOLEAN     NOT NULL,
    click_cap  BIGINT CHECK (click_cap > 0),
    disabled   BOOLEAN     NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX referral_links_by_member ON referral_links (member_id);

-- Clicks on /r/CODE. No address is kept: the IP (truncated, then hashed
-- with the instance's key), the user agent and the visitor cookie are
-- hashes; click_key is the public click id a conversion may name.
CREATE TABLE referral_clicks (
    id               BIGSERIAL PRIMARY KEY,
    link_id          BIGINT      NOT NULL REFERENCES referral_links (id),
    click_key        TEXT        NOT NULL UNIQUE,
    ip_hash          TEXT,
    agent_hash       TEXT,
    cookie_hash      TEXT,
    referring_domain TEXT,
    at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX referral_clicks_by_link ON referral_clicks (link_id, at);
CREATE INDEX referral_clicks_by_cookie ON referral_clicks (cookie_hash);

-- Conversions: one per external order id (a retried POST is the same
-- referral). value_cents is the order value in hundredths of currency.
-- signals: the fraud rules that fired (JSON), review_due: when a flagged
-- referral must be decided by.
CREATE TABLE referrals (
    id                 BIGSERIAL PRIMARY KEY,
    link_id            BIGINT      NOT NULL REFERENCES referral_links (id),
    member_id          BIGINT      NOT NULL REFERENCES program_members (id),
    click_id           BIGINT REFERENCES referral_clicks (id),
    external_order_id  TEXT        NOT NULL UNIQUE,
    value_cents        BIGINT      NOT NULL,
    currency           TEXT        NOT NULL,
    friend_email       TEXT,
    friend_key         TEXT,
    friend_customer_id BIGINT REFERENCES customers (id) ON DELETE SET NULL,
    status             TEXT        NOT NULL CHECK (status IN ('blocked', 'flagged', 'pending', 'approved', 'reversed')),
    signals            TEXT        NOT NULL,
    withheld           TEXT,
    review_due         TIMESTAMPTZ,
    pays_at            TIMESTAMPTZ,
    decided_by         TEXT,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX referrals_by_member ON referrals (member_id, created_at);
CREATE INDEX referrals_by_link ON referrals (link_id, created_at);
CREATE INDEX referrals_by_friend ON referrals (friend_key);
CREATE INDEX referrals_by_status ON referrals (status, id);
