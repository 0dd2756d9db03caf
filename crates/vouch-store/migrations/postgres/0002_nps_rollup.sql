-- Pre-aggregated NPS counts by UTC hour and by UTC day (see the SQLite twin
-- of this migration). Kept exact by a trigger on responses.

ALTER TABLE responses ADD COLUMN language TEXT;
UPDATE responses SET language = NULLIF(split_part(locale, '-', 1), '');

CREATE TABLE nps_rollup_hourly (
    bucket     BIGINT NOT NULL, -- hours since the epoch
    survey_id  BIGINT NOT NULL,
    channel    TEXT   NOT NULL,
    language   TEXT   NOT NULL, -- '' when unknown
    promoters  BIGINT NOT NULL,
    passives   BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    PRIMARY KEY (bucket, survey_id, channel, language)
);

CREATE TABLE nps_rollup_daily (
    bucket     BIGINT NOT NULL, -- hours since the epoch, a multiple of 24
    survey_id  BIGINT NOT NULL,
    channel    TEXT   NOT NULL,
    language   TEXT   NOT NULL, -- '' when unknown
    promoters  BIGINT NOT NULL,
    passives   BIGINT NOT NULL,
    detractors BIGINT NOT NULL,
    PRIMARY KEY (bucket, survey_id, channel, language)
);

INSERT INTO nps_rollup_hourly (bucket, survey_id, channel, language, promoters, passives, detractors)
SELECT CAST(floor(extract(epoch FROM r.answered_at) / 3600) AS BIGINT), r.survey_id, r.channel, COALESCE(r.language, ''),
       SUM(CASE WHEN r.score >= 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.score IN (7, 8) THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.score <= 6 THEN 1 ELSE 0 END)
FROM responses r JOIN surveys s ON s.id = r.survey_id
WHERE s.kind = 'nps'
GROUP BY 1, 2, 3, 4;

INSERT INTO nps_rollup_daily (bucket, survey_id, channel, language, promoters, passives, detractors)
SELECT (CAST(floor(extract(epoch FROM r.answered_at) / 3600) AS BIGINT)) / 24 * 24, r.survey_id, r.channel, COALESCE(r.language, ''),
       SUM(CASE WHEN r.score >= 9 THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.score IN (7, 8) THEN 1 ELSE 0 END),
       SUM(CASE WHEN r.score <= 6 THEN 1 ELSE 0 END)
FROM responses r JOIN surveys s ON s.id = r.survey_id
WHERE s.kind = 'nps'
GROUP BY 1, 2, 3, 4;

CREATE FUNCTION nps_rollup_add(r responses, sign BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO nps_rollup_hourly AS t (bucket, survey_id, channel, language, promoters, passives, detractors)
    SELECT CAST(floor(extract(epoch FROM r.answered_at) / 3600) AS BIGINT), r.survey_id, r.channel, COALESCE(r.language, ''),
           CASE WHEN r.score >= 9 THEN sign ELSE 0 END,
           CASE WHEN r.score IN (7, 8) THEN sign ELSE 0 END,
           CASE WHEN r.score <= 6 THEN sign ELSE 0 END
    WHERE (SELECT kind FROM surveys WHERE id = r.survey_id) = 'nps'
    ON CONFLICT (bucket, survey_id, channel, language) DO UPDATE SET
        promoters = t.promoters + EXCLUDED.promoters,
        passives = t.passives + EXCLUDED.passives,
        detractors = t.detractors + EXCLUDED.detractors;
    INSERT INTO nps_rollup_daily AS t (bucket, survey_id, channel, language, promoters, passives, detractors)
    SELECT (CAST(floor(extract(epoch FROM r.answered_at) / 3600) AS BIGINT)) / 24 * 24, r.survey_id, r.channel, COALESCE(r.language, ''),
           CASE WHEN r.score >= 9 THEN sign ELSE 0 END,
           CASE WHEN r.score IN (7, 8) THEN sign ELSE 0 END,
           CASE WHEN r.score <= 6 THEN sign ELSE 0 END
    WHERE (SELECT kind FROM surveys WHERE id = r.survey_id) = 'nps'
    ON CONFLICT (bucket, survey_id, channel, language) DO UPDATE SET
        promoters = t.promoters + EXCLUDED.promoters,
        passives = t.passives + EXCLUDED.passives,
        detractors = t.detractors + EXCLUDED.detractors;
$$;

CREATE FUNCTION responses_nps_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM nps_rollup_add(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM nps_rollup_add(NEW, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER responses_nps_rollup AFTER INSERT OR UPDATE OR DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_nps_rollup();
