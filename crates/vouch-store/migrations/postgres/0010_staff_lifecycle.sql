-- Sessions end after idling (ASVS 7.3.1) as well as at their absolute
-- expiry (7.3.2); accounts can be disabled; API tokens expire and say
-- when they were last used.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMPTZ;
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMPTZ;
ALTER TABLE api_tokens ADD COLUMN last_used_at TIMESTAMPTZ;
