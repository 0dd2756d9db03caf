use chrono::{DateTime, Utc};
use vouch_domain::{Answer, CustomerId, Response, ResponseId, Source, Survey, SurveyKind};

use std::collections::HashMap;

use crate::batch::{Sql, Value, bind_values, placeholders};
use crate::rows::{RESPONSE_COLUMNS, ResponseRow, SurveyRow};
use crate::store::{execute_inserts, insert_rows, on_backend};
use crate::{ResponseFilter, Result, Store, StoreError};

const RESPONSE_INSERT_COLUMNS: &[&str] = &[
    "survey_id",
    "customer_id",
    "score",
    "comment",
    "channel",
    "locale",
    "language",
    "answered_at",
    "metadata",
    "import_key",
];

const COMMENT_FEEDBACK_COLUMNS: &[&str] = &[
    "source",
    "source_id",
    "customer_id",
    "response_id",
    "body",
    "language",
    "posted_at",
];

impl Store {
    /// The survey called `name`, created with `kind` if it does not exist.
    /// A survey of that name but another kind is an error.
    pub async fn ensure_survey(
        &self,
        kind: SurveyKind,
        name: &str,
        created_at: DateTime<Utc>,
    ) -> Result<Survey> {
        const INSERT: &str = "INSERT INTO surveys (kind, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
        const SELECT: &str = "SELECT id, kind, name, created_at FROM surveys WHERE name = $1";
        let row: SurveyRow = on_backend!(self, pool => {
            sqlx::query(INSERT).bind(kind.as_str()).bind(name).bind(created_at).execute(pool).await?;
            // Every survey has a public link; these get a plain one.
            sqlx::query("UPDATE surveys SET slug = 's' || id WHERE slug IS NULL").execute(pool).await?;
            sqlx::query_as(SELECT).bind(name).fetch_one(pool).await
        })?;
        let survey = Survey::try_from(row)?;
        if survey.kind != kind {
            return Err(StoreError::corrupt(
                "survey",
                format!("{name:?} exists as a {} survey, not {kind}", survey.kind),
            ));
        }
        Ok(survey)
    }

    pub async fn surveys(&self) -> Result<Vec<Survey>> {
        const SQL: &str = "SELECT id, kind, name, created_at FROM surveys ORDER BY id";
        let rows: Vec<SurveyRow> =
            on_backend!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter().map(Survey::try_from).collect()
    }

    /// Records answers in one transaction and returns their ids in order.
    /// Every answer with a comment also becomes a feedback item (source
    /// `survey`, source id `response:ID`), so all feedback lives in one model.
    pub async fn insert_answers(&self, answers: &[Answer]) -> Result<Vec<ResponseId>> {
        self.insert_keyed_answers(answers, &vec![None; answers.len()], None)
            .await
    }

    /// The first answer to an invitation, in one transaction with the
    /// invitation's claim and link, so a crash or a dropped request never
    /// leaves one without the other. `None` when it was answered already.
    pub async fn answer_invitation_once(
        &self,
        invitation: i64,
        answer: &Answer,
    ) -> Result<Option<ResponseId>> {
        let ids = self
            .insert_keyed_answers(std::slice::from_ref(answer), &[None], Some(invitation))
            .await?;
        Ok(ids.first().copied())
    }

    /// `insert_answers` with an import key per answer (`None` for answers
    /// given in Vouch) and, for one answer, the invitation it answers.
    async fn insert_keyed_answers(
        &self,
        answers: &[Answer],
        keys: &[Option<String>],
        invitation: Option<i64>,
    ) -> Result<Vec<ResponseId>> {
        const CLAIM: &str =
            "UPDATE invitations SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL";
        const LINK: &str = "UPDATE invitations SET response_id = $1 WHERE id = $2";
        let rows: Vec<Vec<Value>> = answers
            .iter()
            .zip(keys)
            .map(|(a, key)| {
                vec![
                    a.survey_id.0.into(),
                    a.customer_id.map(|c| c.0).into(),
                    i64::from(a.score.value()).into(),
                    a.comment.clone().into(),
                    a.channel.as_str().into(),
                    a.locale.as_ref().map(|l| l.as_str().to_owned()).into(),
                    a.locale.as_ref().map(|l| l.language().to_owned()).into(),
                    a.answered_at.into(),
                    Value::Json(serde_json::to_value(&a.metadata).unwrap_or_default()),
                    key.clone().into(),
                ]
            })
            .collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin().await?;
            if let (Some(invitation), Some(first)) = (invitation, answers.first()) {
                let claimed = sqlx::query(CLAIM).bind(first.answered_at).bind(invitation).execute(&mut *tx).await?.rows_affected();
                if claimed == 0 {
                    tx.rollback().await?;
                    return Ok(Vec::new());
                }
            }
            let ids = insert_rows!(self.backend(), tx, "responses", RESPONSE_INSERT_COLUMNS, &rows).await?;
            if let (Some(invitation), Some(id)) = (invitation, ids.first()) {
                sqlx::query(LINK).bind(*id).bind(invitation).execute(&mut *tx).await?;
            }
            let comments: Vec<Vec<Value>> = answers
                .iter()
                .zip(&ids)
                .filter_map(|(a, id)| {
                    let comment = a.comment.as_deref().map(str::trim).filter(|c| !c.is_empty())?;
                    Some(vec![
                        Source::Survey.as_str().into(),
                        format!("response:{id}").into(),
                        a.customer_id.map(|c| c.0).into(),
                        Value::from(*id),
                        comment.into(),
                        a.locale.as_ref().map(|l| l.language().to_owned()).into(),
                        a.answered_at.into(),
                    ])
                })
                .collect();
            execute_inserts!(self.backend(), tx, "feedback_items", COMMENT_FEEDBACK_COLUMNS, "", &comments).await?;
            tx.commit().await?;
            Ok(ids.into_iter().map(ResponseId).collect())
        })
    }

    /// A page of answers matching `filter`, newest first (by answer time,
    /// then id), continuing after the answer `after` (keyset pagination).
    pub async fn responses(
        &self,
        filter: &ResponseFilter,
        after: Option<ResponseId>,
        limit: u32,
    ) -> Result<Vec<Response>> {
        let mut sql = Sql::default();
        let mut conditions = filter.conditions(&mut sql);
        if let Some(after) = after {
            let id = sql.bind(after.0);
            conditions.push(format!(
                "(r.answered_at, r.id) < (SELECT answered_at, id FROM responses WHERE id = {id})"
            ));
        }
        conditions.push("1 = 1".to_owned());
        sql.text = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses r JOIN surveys s ON s.id = r.survey_id \
             WHERE {} ORDER BY r.answered_at DESC, r.id DESC LIMIT {}",
            conditions.join(" AND "),
            sql.bind(i64::from(limit))
        );
        let rows: Vec<ResponseRow> = on_backend!(self, pool =>
            bind_values!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text.as_str())), sql.values.iter()).fetch_all(pool).await)?;
        rows.into_iter().map(Response::try_from).collect()
    }

    /// One answer by id.
    pub async fn response(&self, id: ResponseId) -> Result<Option<Response>> {
        let sql = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses r JOIN surveys s ON s.id = r.survey_id WHERE r.id = $1"
        );
        let row: Option<ResponseRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).fetch_optional(pool).await)?;
        row.map(Response::try_from).transpose()
    }

    /// Changes an answer's score and comment (answers stay editable for a
    /// while after they are given). The NPS rollup follows through triggers.
    pub async fn update_answer(
        &self,
        id: ResponseId,
        score: vouch_domain::Score,
        comment: Option<&str>,
    ) -> Result<()> {
        const SQL: &str = "UPDATE responses SET score = $1, comment = $2 WHERE id = $3";
        // The comment's feedback item follows: changed, added or removed.
        const DROP_COMMENT: &str = "DELETE FROM feedback_items WHERE response_id = $1";
        const ADD_COMMENT: &str = "INSERT INTO feedback_items (source, source_id, customer_id, response_id, body, language, posted_at) \
            SELECT $1, $2, customer_id, id, $3, language, answered_at FROM responses WHERE id = $4";
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let updated = on_backend!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(SQL).bind(i64::from(score.value())).bind(comment).bind(id.0).execute(&mut *tx).await?.rows_affected();
            sqlx::query(DROP_COMMENT).bind(id.0).execute(&mut *tx).await?;
            if let Some(comment) = comment {
                sqlx::query(ADD_COMMENT).bind(Source::Survey.as_str()).bind(format!("response:{}", id.0)).bind(comment).bind(id.0).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(updated)
        })?;
        if updated == 0 {
            return Err(StoreError::NotFound {
                what: "response",
                key: id.0.to_string(),
            });
        }
        Ok(())
    }

    /// Writes imported answers idempotently: an import key not seen before
    /// is inserted; a known one is updated when its score or comment
    /// changed, and left alone otherwise.
    pub async fn upsert_answers(
        &self,
        answers: &[(String, Answer)],
    ) -> Result<crate::UpsertSummary> {
        let backend = self.backend();
        let mut known: HashMap<String, (ResponseId, i64, Option<String>)> = HashMap::new();
        let keys: Vec<&str> = answers.iter().map(|(k, _)| k.as_str()).collect();
        for chunk in keys.chunks(500) {
            let sql = format!(
                "SELECT import_key, id, score, comment FROM responses WHERE import_key IN ({})",
                placeholders(backend, 1, chunk.len())
            );
            let rows: Vec<(String, i64, i64, Option<String>)> = on_backend!(self, pool => {
                let query = chunk.iter().fold(
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false),
                    |q, key| q.bind(*key),
                );
                query.fetch_all(pool).await
            })?;
            for (key, id, score, comment) in rows {
                known.insert(key, (ResponseId(id), score, comment));
            }
        }
        let mut summary = crate::UpsertSummary::default();
        let (mut new, mut new_keys) = (Vec::new(), Vec::new());
        let mut seen = std::collections::HashSet::new();
        for (key, answer) in answers {
            if !seen.insert(key.as_str()) {
                summary.unchanged += 1;
                continue;
            }
            match known.get(key) {
                None => {
                    new.push(answer.clone());
                    new_keys.push(Some(key.clone()));
                    summary.imported += 1;
                }
                Some((id, score, comment))
                    if *score != i64::from(answer.score.value())
                        || comment.as_deref() != answer.comment.as_deref() =>
                {
                    self.update_answer(*id, answer.score, answer.comment.as_deref())
                        .await?;
                    summary.updated += 1;
                }
                Some(_) => summary.unchanged += 1,
            }
        }
        self.insert_keyed_answers(&new, &new_keys, None).await?;
        Ok(summary)
    }

    /// Deletes an answer (and the feedback item made from its comment).
    pub async fn delete_answer(&self, id: ResponseId) -> Result<()> {
        const SQL: &str = "DELETE FROM responses WHERE id = $1";
        let deleted = on_backend!(self, pool => sqlx::query(SQL).bind(id.0).execute(pool).await.map(|r| r.rows_affected()))?;
        if deleted == 0 {
            return Err(StoreError::NotFound {
                what: "response",
                key: id.0.to_string(),
            });
        }
        Ok(())
    }

    /// A customer's answers to every survey, oldest first.
    pub async fn responses_of(&self, customer: CustomerId) -> Result<Vec<Response>> {
        let sql = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses r JOIN surveys s ON s.id = r.survey_id \
             WHERE r.customer_id = $1 ORDER BY r.answered_at, r.id"
        );
        let rows: Vec<ResponseRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(customer.0).fetch_all(pool).await)?;
        rows.into_iter().map(Response::try_from).collect()
    }

    pub async fn count_responses(&self) -> Result<u64> {
        let n: i64 = on_backend!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM responses").fetch_one(pool).await)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
