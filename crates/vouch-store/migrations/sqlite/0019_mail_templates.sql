-- The company's own message templates (MiniJinja source), per message
-- and language; a message without one uses Vouch's built-in template.
CREATE TABLE mail_templates (
    name       TEXT NOT NULL,
    language   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    text       TEXT NOT NULL,
    html       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, language)
);
