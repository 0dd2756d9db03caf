//! Consent per purpose, and the contacts the one budget counts.

use chrono::{DateTime, Duration, Utc};
use vouch_domain::{
    BudgetDecision, ConsentRecord, ContactBudget, CustomerId, PastContact, Purpose,
};

use crate::store::{BeginWrite, on_backend};
use crate::{Backend, Result, Store, StoreError};

/// Writes a consent record and its `consent.changed` event inside `$tx`.
/// Expands to an `async` block.
macro_rules! upsert_consent {
    ($backend:expr, $tx:expr, $customer:expr, $record:expr) => {
        async {
            let customer: vouch_domain::CustomerId = $customer;
            let record: &vouch_domain::ConsentRecord = $record;
            const SQL: &str = "INSERT INTO consents (customer_id, purpose, granted, basis, source, evidence, recorded_at) \
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (customer_id, purpose) DO UPDATE SET \
                granted = excluded.granted, basis = excluded.basis, source = excluded.source, \
                evidence = excluded.evidence, recorded_at = excluded.recorded_at";
            sqlx::query(SQL)
                .bind(customer.0)
                .bind(record.purpose.as_str())
                .bind(record.granted)
                .bind(record.basis.as_str())
                .bind(record.source.as_str())
                .bind(record.evidence.as_deref())
                .bind(record.recorded_at)
                .execute(&mut *$tx)
                .await?;
            let event = vouch_domain::DomainEvent::ConsentChanged {
                customer_id: customer,
                purpose: record.purpose.as_str().to_owned(),
                granted: record.granted,
                source: record.source.clone(),
            };
            $crate::events::append_events!($backend, $tx, std::slice::from_ref(&event)).await?;
            Ok::<_, $crate::StoreError>(())
        }
    };
}
pub(crate) use upsert_consent;

/// A message's claim on the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRequest {
    pub customer_id: CustomerId,
    pub purpose: Purpose,
    /// What it is: `survey invitation 12`, `survey reminder 12`.
    pub what: String,
    /// Stable per job: a retry finds its reservation.
    pub message_id: String,
}

/// One message, as `GET /api/v1/customers/{id}/contacts` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub purpose: Purpose,
    pub what: String,
    pub message_id: String,
    /// `reserved` (being sent), `sent`, `failed`, `deferred`, `skipped`.
    pub state: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// How far back the budget looks (longer than any sensible window).
const BUDGET_LOOKBACK_DAYS: i64 = 400;

impl Store {
    /// Records consent (or its withdrawal) for one purpose, with its
    /// `consent.changed` event.
    pub async fn set_consent(&self, customer: CustomerId, record: &ConsentRecord) -> Result<()> {
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            upsert_consent!(backend, tx, customer, record).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// `set_consent` for many customers in one transaction (an import's
    /// consent columns), each with its `consent.changed` event.
    pub async fn set_consents(&self, records: &[(CustomerId, ConsentRecord)]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (customer, record) in records {
                upsert_consent!(backend, tx, *customer, record).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Each of `customers`' consents on record, purpose by purpose: granted
    /// or not (an import's check for what changed), one read per 500.
    pub async fn consents_of_many(
        &self,
        customers: &[CustomerId],
    ) -> Result<std::collections::HashMap<CustomerId, Vec<(vouch_domain::Purpose, bool)>>> {
        let mut found: std::collections::HashMap<CustomerId, Vec<(vouch_domain::Purpose, bool)>> =
            std::collections::HashMap::new();
        for chunk in customers.chunks(500) {
            let list = crate::batch::placeholders(self.backend(), 1, chunk.len());
            let sql = format!(
                "SELECT customer_id, purpose, granted FROM consents WHERE customer_id IN ({list})"
            );
            let rows: Vec<(i64, String, bool)> = on_backend!(self, pool => chunk
                .iter()
                .fold(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).persistent(false), |q, id| q.bind(id.0))
                .fetch_all(pool)
                .await)?;
            for (customer, purpose, granted) in rows {
                let purpose = purpose
                    .parse()
                    .map_err(|e: vouch_domain::DomainError| StoreError::corrupt("consent", e))?;
                found
                    .entry(CustomerId(customer))
                    .or_default()
                    .push((purpose, granted));
            }
        }
        Ok(found)
    }

    /// The customer's consent records, by purpose.
    pub async fn consents_of(&self, customer: CustomerId) -> Result<Vec<ConsentRecord>> {
        const SQL: &str = "SELECT purpose, granted, basis, source, evidence, recorded_at FROM consents WHERE customer_id = $1 ORDER BY purpose";
        type Row = (String, bool, String, String, Option<String>, DateTime<Utc>);
        let rows: Vec<Row> =
            on_backend!(self, pool => sqlx::query_as(SQL).bind(customer.0).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(purpose, granted, basis, source, evidence, recorded_at)| {
                let corrupt = |e: vouch_domain::DomainError| StoreError::corrupt("consent", e);
                Ok(ConsentRecord {
                    purpose: purpose.parse().map_err(corrupt)?,
                    granted,
                    basis: basis.parse().map_err(corrupt)?,
                    source,
                    evidence,
                    recorded_at,
                })
            })
            .collect()
    }

    /// Claims room in the customer's budget for one message, atomically:
    /// the customer's past contacts are read and the claim written in one
    /// transaction that holds the customer (row lock on PostgreSQL, the
    /// single writer on SQLite), so two senders cannot both take the last
    /// room. A message already reserved or sent (a retried job) keeps its
    /// claim. A deferral is recorded with its reason.
    pub async fn reserve_contact(
        &self,
        request: &ContactRequest,
        budget: &ContactBudget,
        zone: Option<chrono_tz::Tz>,
        now: DateTime<Utc>,
    ) -> Result<BudgetDecision> {
        const HOLD: &str = "SELECT id FROM customers WHERE id = $1 FOR UPDATE";
        const MINE: &str = "SELECT state FROM contacts WHERE message_id = $1";
        const PAST: &str = "SELECT at, purpose FROM contacts WHERE customer_id = $1 AND state IN ('reserved', 'sent') AND at > $2";
        let backend = self.backend();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if backend == Backend::Postgres {
                sqlx::query(HOLD).bind(request.customer_id.0).execute(&mut *tx).await?;
            }
            let mine: Option<String> = sqlx::query_scalar(MINE).bind(request.message_id.as_str()).fetch_optional(&mut *tx).await?;
            if matches!(mine.as_deref(), Some("reserved" | "sent")) {
                tx.commit().await?;
                return Ok(BudgetDecision::Send);
            }
            let rows: Vec<(DateTime<Utc>, String)> = sqlx::query_as(PAST)
                .bind(request.customer_id.0)
                .bind(now - Duration::days(BUDGET_LOOKBACK_DAYS))
                .fetch_all(&mut *tx)
                .await?;
            let past: Vec<PastContact> = rows
                .into_iter()
                .filter_map(|(at, purpose)| Some(PastContact { at, purpose: purpose.parse().ok()? }))
                .collect();
            let decision = budget.decide(&past, request.purpose, now, zone);
            let (state, reason) = match &decision {
                BudgetDecision::Send => ("reserved", None),
                BudgetDecision::Defer { reason, until } => (
                    "deferred",
                    Some(format!("{reason}; next try {}", until.format("%Y-%m-%d %H:%M UTC"))),
                ),
            };
            upsert_contact(&mut tx, request, state, reason.as_deref(), now).await?;
            tx.commit().await?;
            Ok(decision)
        })
    }

    /// Records that a message was not sent, and why (no consent,
    /// suppressed, nothing left to ask).
    pub async fn skip_contact(
        &self,
        request: &ContactRequest,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            upsert_contact(&mut tx, request, "skipped", Some(reason), now).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Gives back a reservation whose send failed for good.
    pub async fn release_contact(&self, message_id: &str, reason: &str) -> Result<()> {
        const SQL: &str = "UPDATE contacts SET state = 'failed', reason = $1 WHERE message_id = $2 AND state = 'reserved'";
        on_backend!(self, pool => sqlx::query(SQL).bind(reason).bind(message_id).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// The customer's messages, newest first.
    pub async fn contacts_of(&self, customer: CustomerId, limit: u32) -> Result<Vec<Contact>> {
        const SQL: &str = "SELECT purpose, what, message_id, state, reason, at FROM contacts WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT $2";
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            DateTime<Utc>,
        );
        let rows: Vec<Row> = on_backend!(self, pool => sqlx::query_as(SQL).bind(customer.0).bind(i64::from(limit)).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(purpose, what, message_id, state, reason, at)| {
                Ok(Contact {
                    purpose: purpose
                        .parse()
                        .map_err(|e| StoreError::corrupt("contact", e))?,
                    what,
                    message_id,
                    state,
                    reason,
                    at,
                })
            })
            .collect()
    }
}

/// Inserts or updates the contact row of `request.message_id` in `tx`.
async fn upsert_contact<'c, DB>(
    tx: &mut sqlx::Transaction<'c, DB>,
    request: &ContactRequest,
    state: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()>
where
    DB: sqlx::Database,
    for<'e> &'e mut DB::Connection: sqlx::Executor<'e, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    const SQL: &str = "INSERT INTO contacts (customer_id, purpose, what, message_id, state, reason, at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO UPDATE SET \
        state = excluded.state, reason = excluded.reason, at = excluded.at";
    sqlx::query(SQL)
        .bind(request.customer_id.0)
        .bind(request.purpose.as_str())
        .bind(request.what.as_str())
        .bind(request.message_id.as_str())
        .bind(state)
        .bind(reason)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The company's template `name` in `language`: (subject, text, html).
    pub async fn mail_template(
        &self,
        name: &str,
        language: &str,
    ) -> Result<Option<(String, String, String)>> {
        const SQL: &str =
            "SELECT subject, text, html FROM mail_templates WHERE name = $1 AND language = $2";
        Ok(
            on_backend!(self, pool => sqlx::query_as(SQL).bind(name).bind(language).fetch_optional(pool).await)?,
        )
    }

    /// Saves (or replaces) the company's template `name` in `language`.
    pub async fn set_mail_template(
        &self,
        name: &str,
        language: &str,
        (subject, text, html): (&str, &str, &str),
        at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO mail_templates (name, language, subject, text, html, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
            ON CONFLICT (name, language) DO UPDATE SET subject = excluded.subject, text = excluded.text, html = excluded.html, updated_at = excluded.updated_at";
        on_backend!(self, pool => sqlx::query(SQL).bind(name).bind(language).bind(subject).bind(text).bind(html).bind(at)
            .execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Removes the company's template (the built-in one is used again).
    pub async fn delete_mail_template(&self, name: &str, language: &str) -> Result<bool> {
        const SQL: &str = "DELETE FROM mail_templates WHERE name = $1 AND language = $2";
        let n = on_backend!(self, pool => sqlx::query(SQL).bind(name).bind(language).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
