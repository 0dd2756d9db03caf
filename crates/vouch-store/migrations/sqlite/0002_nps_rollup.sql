-- Pre-aggregated NPS counts per survey, channel and language, by UTC hour
-- (for trends in any time zone) and by UTC day (for UTC trends and totals),
-- so that a trend over millions of answers reads thousands of rows.
-- Kept exact by triggers on every insert, update and delete of a response.
-- `bucket` is the bucket's start in hours since 1970-01-01T00:00Z.

ALTER TABLE responses ADD COLUMN language TEXT;
UPDATE responses SET language = CASE
    WHEN locale IS NULL THEN NULL
    WHEN instr(locale, '-') > 0 THEN substr(locale, 1, instr(locale, '-') - 1)
    ELSE locale END;

CREATE TABLE nps_rollup_hourly (
    bucket     INTEGER NOT NULL, -- hours since the epoch
    survey_id  INTEGER NOT NULL,
    channel    TEXT    NOT NULL,
    language   TEXT    NOT NULL, -- '' when unknown
    promoters  INTEGER NOT NULL,
    passives   INTEGER NOT NULL,
    detractors INTEGER NOT NULL,
    PRIMARY KEY (bucket, survey_id, channel, language)
) WITHOUT ROWID;

CREATE TABLE nps_rollup_daily (
    bucket     INTEGER NOT NULL, -- hours since the epoch, a multiple of 24
    survey_id  INTEGER NOT NULL,
    channel    TEXT    NOT NULL,
    language   TEXT    NOT NULL, -- '' when unknown
    promoters  INTEGER NOT NULL,
    passives   INTEGER NOT NULL,
    detractors INTEGER NOT NULL,
    PRIMARY KEY (bucket, survey_id, channel, language)
) WITHOUT ROWID;

INSERT INTO nps_rollup_hourly (bucket, survey_id, channel, language, promoters, passives, detractors)
SELECT CAST(strftime('%s', r.answered_at) AS INTEGER) / 3600, r.survey_id, r.channel, COALESCE(r.language, ''),
       SUM(r.score >= 9), SUM(r.score IN (7, 8)), SUM(r.score <= 6)
FROM responses r JOIN surveys s ON s.id = r.survey_id
WHERE s.kind = 'nps'
GROUP BY 1, 2, 3, 4;

INSERT INTO nps_rollup_daily (bucket, survey_id, channel, language, promoters, passives, detractors)
SELECT (CAST(strftime('%s', r.answered_at) AS INTEGER) / 3600) / 24 * 24, r.survey_id, r.channel, COALESCE(r.language, ''),
       SUM(r.score >= 9), SUM(r.score IN (7, 8)), SUM(r.score <= 6)
FROM responses r JOIN surveys s ON s.id = r.survey_id
WHERE s.kind = 'nps'
GROUP BY 1, 2, 3, 4;

CREATE TRIGGER responses_nps_rollup_insert AFTER INSERT ON responses
WHEN (SELECT kind FROM surveys WHERE id = NEW.survey_id) = 'nps'
BEGIN
    INSERT INTO nps_rollup_hourly (bucket, survey_id, channel, language, promoters, passives, detractors)
    VALUES (CAST(strftime('%s', NEW.answered_at) AS INTEGER) / 3600, NEW.survey_id, NEW.channel, COALESCE(NEW.language, ''), NEW.score >= 9, NEW.score IN (7, 8), NEW.score <= 6)
    ON CONFLICT (bucket, survey_id, channel, language) DO UPDATE SET
        promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives,
        detractors = detractors + excluded.detractors;
    INSERT INTO nps_rollup_daily (bucket, survey_id, channel, language, promoters, passives, detractors)
    VALUES ((CAST(strftime('%s', NEW.answered_at) AS INTEGER) / 3600) / 24 * 24, NEW.survey_id, NEW.channel, COALESCE(NEW.language, ''), NEW.score >= 9, NEW.score IN (7, 8), NEW.score <= 6)
    ON CONFLICT (bucket, survey_id, channel, language) DO UPDATE SET
        promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives,
        detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER responses_nps_rollup_delete AFTER DELETE ON responses
WHEN (SELECT kind FROM surveys WHERE id = OLD.survey_id) = 'nps'
BEGIN
    UPDATE nps_rollup_hourly SET
        promoters = promoters - (OLD.score >= 9),
        passives = passives - (OLD.score IN (7, 8)),
        detractors = detractors - (OLD.score <= 6)
    WHERE bucket = CAST(strftime('%s', OLD.answered_at) AS INTEGER) / 3600 AND survey_id = OLD.survey_id AND channel = OLD.channel AND language = COALESCE(OLD.language, '');
    UPDATE nps_rollup_daily SET
        promoters = promoters - (OLD.score >= 9),
        passives = passives - (OLD.score IN (7, 8)),
        detractors = detractors - (OLD.score <= 6)
    WHERE bucket = (CAST(strftime('%s', OLD.answered_at) AS INTEGER) / 3600) / 24 * 24 AND survey_id = OLD.survey_id AND channel = OLD.channel AND language = COALESCE(OLD.language, '');
END;

-- An update is a delete of the old row and an insert of the new one.
CREATE TRIGGER responses_nps_rollup_update_old AFTER UPDATE OF score, answered_at, survey_id, channel, language ON responses
WHEN (SELECT kind FROM surveys WHERE id = OLD.survey_id) = 'nps'
BEGIN
    UPDATE nps_rollup_hourly SET
        promoters = promoters - (OLD.score >= 9),
        passives = passives - (OLD.score IN (7, 8)),
        detractors = detractors - (OLD.score <= 6)
    WHERE bucket = CAST(strftime('%s', OLD.answered_at) AS INTEGER) / 3600 AND survey_id = OLD.survey_id AND channel = OLD.channel AND language = COALESCE(OLD.language, '');
    UPDATE nps_rollup_daily SET
        promoters = promoters - (OLD.score >= 9),
        passives = passives - (OLD.score IN (7, 8)),
        detractors = detractors - (OLD.score <= 6)
    WHERE bucket = (CAST(strftime('%s', OLD.answered_at) AS INTEGER) / 3600) / 24 * 24 AND survey_id = OLD.survey_id AND channel = OLD.channel AND language = COALESCE(OLD.language, '');
END;

CREATE TRIGGER responses_nps_rollup_update_new AFTER UPDATE OF score, answered_at, survey_id, channel, language ON responses
WHEN (SELECT kind FROM surveys WHERE id = NEW.survey_id) = 'nps'
BEGIN
    INSERT INTO nps_rollup_hourly (bucket, survey_id, channel, language, promoters, passives, detractors)
    VALUES (CAST(strftime('%s', NEW.answered_at) AS INTEGER) / 3600, NEW.survey_id, NEW.channel, COALESCE(NEW.language, ''), NEW.score >= 9, NEW.score IN (7, 8), NEW.score <= 6)
    ON CONFLICT (bucket, survey_id, channel, language) DO UPDATE SET
        promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives,
        detractors = detractors + excluded.detractors;
    INSERT INTO nps_rollup_daily (bucket, survey_id, channel, language, promoters, passives, detractors)
    VALUES ((CAST(strftime('%s', NEW.answered_at) AS INTEGER) / 3600) / 24 * 24, NEW.survey_id, NEW.channel, COALESCE(NEW.language, ''), NEW.score >= 9, NEW.score IN (7, 8), NEW.score <= 6)
    ON CONFLICT (bucket, survey_id, channel, language) DO UPDATE SET
        promoters = promoters + excluded.promoters,
        passives = passives + excluded.passives,
        detractors = detractors + excluded.detractors;
END;
