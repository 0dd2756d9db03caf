-- Badges (rule: a vouch_domain::program::BadgeRule as JSON: manual, a
-- number of earning entries from a source, or a points threshold), who
-- holds each (once), and recognition from staff to a member.
CREATE TABLE badges (
    id          INTEGER PRIMARY KEY,
    name        TEXT        NOT NULL UNIQUE,
    description TEXT        NOT NULL,
    rule        TEXT        NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE member_badges (
    member_id  INTEGER     NOT NULL REFERENCES program_members (id),
    badge_id   INTEGER     NOT NULL REFERENCES badges (id),
    awarded_by TEXT        NOT NULL,
    awarded_at TEXT NOT NULL,
    PRIMARY KEY (member_id, badge_id)
);
CREATE TABLE recognitions (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER     NOT NULL REFERENCES program_members (id),
    message    TEXT        NOT NULL,
    public     INTEGER     NOT NULL,
    author     TEXT        NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX recognitions_by_member ON recognitions (member_id, id);
