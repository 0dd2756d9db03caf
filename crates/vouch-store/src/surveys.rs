use chrono::{DateTime, Utc};
use vouch_domain::{
    Answer, CategoryAssignment, ChangeSignal, CustomerId, DomainEvent, RecordRef, Response,
    ResponseId, Source, Survey, SurveyKind, category_changes,
};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::answer_queue::FirstAnswer;
use crate::batch::{Sql, Value, bind_values, placeholders};
use crate::events::{append_events, categories_from, categories_in, signals_in, with_new_answers};
use crate::rows::{RESPONSE_COLUMNS, ResponseRow, SurveyRow};
use crate::store::{BeginWrite, execute_inserts, insert_rows, on_backend};
use crate::{ResponseFilter, Result, Store, StoreError, TextTags};

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
    "sentiment",
    "topics",
];

fn response_row(a: &Answer, import_key: Option<String>) -> Vec<Value> {
    vec![
        a.survey_id.0.into(),
        a.customer_id.map(|c| c.0).into(),
        i64::from(a.score.value()).into(),
        a.comment.clone().into(),
        a.channel.as_str().into(),
        a.locale.as_ref().map(|l| l.as_str().to_owned()).into(),
        a.locale.as_ref().map(|l| l.language().to_owned()).into(),
        a.answered_at.into(),
        Value::json(&a.metadata),
        import_key.into(),
    ]
}

/// The feedback item made from an answer's comment, if it has one, with
/// its tags when known (untagged items are tagged later).
fn comment_row(a: &Answer, response: i64, tags: Option<&TextTags>) -> Option<Vec<Value>> {
    let comment = a
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())?;
    let language = a.locale.as_ref().map(|l| l.language().to_owned());
    Some(vec![
        Source::Survey.as_str().into(),
        format!("response:{response}").into(),
        a.customer_id.map(|c| c.0).into(),
        Value::from(response),
        comment.into(),
        tags.and_then(|t| t.language.clone()).or(language).into(),
        a.answered_at.into(),
        tags.map(|t| t.sentiment).into(),
        Value::json(&tags.map_or(&[][..], |t| t.topics.as_slice())),
    ])
}

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
        self.insert_keyed_answers(answers, &vec![None; answers.len()])
            .await
    }

    /// `insert_answers` with an import key per answer (`None` for answers
    /// given in Vouch).
    async fn insert_keyed_answers(
        &self,
        answers: &[Answer],
        keys: &[Option<String>],
    ) -> Result<Vec<ResponseId>> {
        let rows: Vec<Vec<Value>> = answers
            .iter()
            .zip(keys)
            .map(|(a, key)| response_row(a, key.clone()))
            .collect();
        let watched = nps_customers(answers.iter());
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The signals are read once: the categories after are the
            // ones before with the new answers added (comments are no
            // review-platform signal), not a second read.
            let signals = signals_in!(self.backend(), tx, &watched).await?;
            let before = categories_from(signals.clone());
            let ids = insert_rows!(self.backend(), tx, "responses", RESPONSE_INSERT_COLUMNS, &rows).await?;
            let comments: Vec<Vec<Value>> = answers
                .iter()
                .zip(&ids)
                .filter_map(|(a, id)| comment_row(a, *id, None))
                .collect();
            execute_inserts!(self.backend(), tx, "feedback_items", COMMENT_FEEDBACK_COLUMNS, "", &comments).await?;
            let after = categories_from(with_new_answers(signals, answers.iter()));
            let ids: Vec<ResponseId> = ids.into_iter().map(ResponseId).collect();
            let events = answer_events(ids.iter().copied().zip(answers), &before, after, DomainEvent::ResponseCreated);
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// First answers to invitations, in one transaction: each invitation is
    /// claimed, answered and linked together with its comment's feedback
    /// item and its events, so a crash or a dropped request never
    /// leaves one without the others. `None` for an invitation answered
    /// already. (Callers go through `answer_invitation_once`, which groups
    /// concurrent answers into these batches.)
    pub(crate) async fn store_first_answers(
        &self,
        batch: &[&FirstAnswer],
    ) -> Result<Vec<Option<ResponseId>>> {
        const CLAIM: &str =
            "UPDATE invitations SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL";
        const LINK: &str = "UPDATE invitations SET response_id = $1 WHERE id = $2";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut claimed = Vec::with_capacity(batch.len());
            for first in batch {
                let rows = sqlx::query(CLAIM).bind(first.answer.answered_at).bind(first.invitation).execute(&mut *tx).await?.rows_affected();
                claimed.push(rows == 1);
            }
            let new: Vec<&FirstAnswer> = batch.iter().zip(&claimed).filter(|(_, c)| **c).map(|(f, _)| *f).collect();
            let watched = nps_customers(new.iter().map(|f| &f.answer));
            let before = categories_in!(self.backend(), tx, &watched).await?;
            let rows: Vec<Vec<Value>> = new.iter().map(|f| response_row(&f.answer, None)).collect();
            let ids = insert_rows!(self.backend(), tx, "responses", RESPONSE_INSERT_COLUMNS, &rows).await?;
            let mut comments = Vec::new();
            for (first, id) in new.iter().zip(&ids) {
                sqlx::query(LINK).bind(*id).bind(first.invitation).execute(&mut *tx).await?;
                comments.extend(comment_row(&first.answer, *id, first.comment_tags.as_ref()));
            }
            execute_inserts!(self.backend(), tx, "feedback_items", COMMENT_FEEDBACK_COLUMNS, "", &comments).await?;
            let after = categories_in!(self.backend(), tx, &watched).await?;
            let answered = ids.iter().map(|id| ResponseId(*id)).zip(new.iter().map(|f| &f.answer));
            let events = answer_events(answered, &before, after, DomainEvent::ResponseCreated);
            append_events!(self.backend(), tx, &events).await?;
            tx.commit().await?;
            let mut ids = ids.into_iter().map(ResponseId);
            Ok(claimed.iter().map(|c| if *c { ids.next() } else { None }).collect())
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
        let read_back = format!(
            "SELECT {RESPONSE_COLUMNS} FROM responses r JOIN surveys s ON s.id = r.survey_id WHERE r.id = $1"
        );
        const CUSTOMER: &str = "SELECT customer_id FROM responses WHERE id = $1";
        let updated = on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let customer: Option<Option<i64>> = sqlx::query_scalar(CUSTOMER).bind(id.0).fetch_optional(&mut *tx).await?;
            let watched: BTreeSet<CustomerId> = customer.flatten().map(CustomerId).into_iter().collect();
            let before = categories_in!(self.backend(), tx, &watched).await?;
            let updated = sqlx::query(SQL).bind(i64::from(score.value())).bind(comment).bind(id.0).execute(&mut *tx).await?.rows_affected();
            sqlx::query(DROP_COMMENT).bind(id.0).execute(&mut *tx).await?;
            if let Some(comment) = comment {
                sqlx::query(ADD_COMMENT).bind(Source::Survey.as_str()).bind(format!("response:{}", id.0)).bind(comment).bind(id.0).execute(&mut *tx).await?;
            }
            if updated == 1 {
                let after = categories_in!(self.backend(), tx, &watched).await?;
                let row: ResponseRow = sqlx::query_as(sqlx::AssertSqlSafe(read_back.as_str())).bind(id.0).fetch_one(&mut *tx).await?;
                let response = Response::try_from(row)?;
                let events = answer_events(std::iter::once((id, &response.answer)), &before, after, DomainEvent::ResponseUpdated);
                append_events!(self.backend(), tx, &events).await?;
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
        self.insert_keyed_answers(&new, &new_keys).await?;
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

/// The customers whose category new or changed NPS answers may move.
fn nps_customers<'a>(answers: impl Iterator<Item = &'a Answer>) -> BTreeSet<CustomerId> {
    answers
        .filter(|a| a.score.kind() == SurveyKind::Nps)
        .filter_map(|a| a.customer_id)
        .collect()
}

/// An event per answer (`make`: created or updated), then a
/// `customer.category_changed` per customer whose category moved.
fn answer_events<'a>(
    answers: impl Iterator<Item = (ResponseId, &'a Answer)>,
    before: &BTreeMap<CustomerId, Option<CategoryAssignment>>,
    after: BTreeMap<CustomerId, Option<CategoryAssignment>>,
    make: fn(RecordRef<ResponseId>) -> DomainEvent,
) -> Vec<DomainEvent> {
    let mut last: BTreeMap<CustomerId, ResponseId> = BTreeMap::new();
    let mut events: Vec<DomainEvent> = answers
        .map(|(id, answer)| {
            if let Some(customer) = answer.customer_id {
                last.insert(customer, id);
            }
            make(RecordRef {
                id,
                customer_id: answer.customer_id,
            })
        })
        .collect();
    let after = after
        .into_iter()
        .filter_map(|(customer, assignment)| {
            let signal = ChangeSignal::Response(*last.get(&customer)?);
            Some((customer, (assignment, signal)))
        })
        .collect();
    events.extend(category_changes(before, &after));
    events
}
