-- Challenges (the spec is a vouch_domain::program::challenges::ChallengeSpec
-- as JSON) and members' submissions, one per stage and attempt. A stage
-- that needs a person waits as `submitted`; its points are paid when it
-- is approved (key challenge:ID:MEMBER:ROUND:STAGE in the ledger).
CREATE TABLE challenges (
    id         INTEGER PRIMARY KEY,
    name       TEXT        NOT NULL,
    spec       TEXT        NOT NULL,
    active     INTEGER     NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE challenge_submissions (
    id           INTEGER PRIMARY KEY,
    challenge_id INTEGER     NOT NULL REFERENCES challenges (id),
    member_id    INTEGER     NOT NULL REFERENCES program_members (id),
    -- Which completion this is (1 for the first time through).
    round        INTEGER     NOT NULL,
    stage        INTEGER     NOT NULL,
    state        TEXT        NOT NULL CHECK (state IN ('submitted', 'approved', 'resubmit', 'rejected')),
    answer       TEXT,
    url          TEXT,
    file_name    TEXT,
    file_type    TEXT,
    file_data    BLOB,
    -- Set on a testimonial from a member who earns points (16 CFR 255.5).
    disclosure   TEXT,
    note         TEXT,
    decided_by   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX challenge_submissions_by_member ON challenge_submissions (member_id, challenge_id, round, stage);
CREATE INDEX challenge_submissions_by_state ON challenge_submissions (state, id);
