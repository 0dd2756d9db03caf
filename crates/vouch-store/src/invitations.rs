//! Survey designs, invitations, email suppressions and settings.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use vouch_domain::{
    ConsentRecord, CustomerId, DomainEvent, InvitationState, Locale, Purpose, ResponseId, Survey,
    SurveyDesign, SurveyId, SurveyKind, SurveyStatus, SurveyTexts,
};

use crate::batch::Value;
use crate::events::append_events;
use crate::jobs::{JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, job_row};
use crate::store::execute_inserts;
use crate::store::{BeginWrite, on_backend};
use crate::{NewJob, Result, Store, StoreError};

/// An invitation as the pages and the mailer need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: i64,
    pub survey_id: SurveyId,
    pub customer_id: CustomerId,
    pub locale: Locale,
    pub created_at: DateTime<Utc>,
    pub response_id: Option<ResponseId>,
    pub state: InvitationState,
}

/// An invitation to add; the token itself never reaches the store.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub survey_id: SurveyId,
    pub customer_id: CustomerId,
    pub token_hash: String,
    pub locale: Locale,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: i64,
    survey_id: i64,
    customer_id: i64,
    locale: String,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    reminded_at: Option<DateTime<Utc>>,
    response_id: Option<i64>,
    answered_at: Option<DateTime<Utc>>,
    unsubscribed_at: Option<DateTime<Utc>>,
}

const INVITATION_COLUMNS: &str = "id, survey_id, customer_id, locale, created_at, sent_at, reminded_at, response_id, answered_at, unsubscribed_at";

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(row: InvitationRow) -> Result<Invitation> {
        Ok(Invitation {
            id: row.id,
            survey_id: SurveyId(row.survey_id),
            customer_id: CustomerId(row.customer_id),
            locale: Locale::parse(&row.locale)
                .map_err(|e| StoreError::corrupt("invitation", format!("id {}: {e}", row.id)))?,
            created_at: row.created_at,
            response_id: row.response_id.map(ResponseId),
            state: InvitationState {
                sent_at: row.sent_at,
                reminded_at: row.reminded_at,
                answered_at: row.answered_at,
                unsubscribed_at: row.unsubscribed_at,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
struct DesignRow {
    id: i64,
    kind: String,
    name: String,
    created_at: DateTime<Utc>,
    status: String,
    slug: Option<String>,
    texts: Json<SurveyTexts>,
}

const DESIGN_COLUMNS: &str = "id, kind, name, created_at, status, slug, texts";

impl TryFrom<DesignRow> for SurveyDesign {
    type Error = StoreError;
    fn try_from(row: DesignRow) -> Result<SurveyDesign> {
        let corrupt = |e: vouch_domain::DomainError| {
            StoreError::corrupt("survey", format!("id {}: {e}", row.id))
        };
        let kind: SurveyKind = row.kind.parse().map_err(corrupt)?;
        Ok(SurveyDesign {
            status: row.status.parse().map_err(corrupt)?,
            slug: row.slug.unwrap_or_else(|| format!("s{}", row.id)),
            texts: row.texts.0.over_defaults(kind),
            survey: Survey {
                id: SurveyId(row.id),
                kind,
                name: row.name,
                created_at: row.created_at,
            },
        })
    }
}

/// What became of a survey's invitations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationCounts {
    pub invited: u64,
    /// Waiting for the mail worker (or the contact budget).
    pub queued: u64,
    pub sent: u64,
    /// Their survey page was opened.
    pub opened: u64,
    pub answered: u64,
    pub bounced: u64,
    pub unsubscribed: u64,
}

impl Store {
    /// Creates a survey with its public slug and wording.
    pub async fn create_survey(
        &self,
        kind: SurveyKind,
        name: &str,
        slug: &str,
        texts: &SurveyTexts,
        at: DateTime<Utc>,
    ) -> Result<SurveyDesign> {
        const SQL: &str = "INSERT INTO surveys (kind, name, created_at, slug, texts) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id: i64 = on_backend!(self, pool => sqlx::query_scalar(SQL)
            .bind(kind.as_str()).bind(name).bind(at).bind(slug).bind(Json(texts)).fetch_one(pool).await)?;
        self.survey_design(SurveyId(id))
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "survey",
                key: id.to_string(),
            })
    }

    /// Changes a survey's name, status or wording.
    pub async fn update_survey(
        &self,
        id: SurveyId,
        name: &str,
        status: SurveyStatus,
        texts: &SurveyTexts,
    ) -> Result<bool> {
        const SQL: &str = "UPDATE surveys SET name = $1, status = $2, texts = $3 WHERE id = $4";
        let n = on_backend!(self, pool => sqlx::query(SQL)
            .bind(name).bind(status.as_str()).bind(Json(texts)).bind(id.0).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    pub async fn survey_design(&self, id: SurveyId) -> Result<Option<SurveyDesign>> {
        let sql = format!("SELECT {DESIGN_COLUMNS} FROM surveys WHERE id = $1");
        let row: Option<DesignRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await)?;
        row.map(SurveyDesign::try_from).transpose()
    }

    pub async fn survey_by_slug(&self, slug: &str) -> Result<Option<SurveyDesign>> {
        let sql = format!("SELECT {DESIGN_COLUMNS} FROM surveys WHERE slug = $1");
        let row: Option<DesignRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(slug).fetch_optional(pool).await)?;
        row.map(SurveyDesign::try_from).transpose()
    }

    /// Every survey with its design, oldest first.
    pub async fn survey_designs(&self) -> Result<Vec<SurveyDesign>> {
        let sql = format!("SELECT {DESIGN_COLUMNS} FROM surveys ORDER BY id");
        let rows: Vec<DesignRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        rows.into_iter().map(SurveyDesign::try_from).collect()
    }

    /// Adds invitations in one transaction; ids in the order given.
    pub async fn add_invitations(
        &self,
        invitations: &[NewInvitation],
        at: DateTime<Utc>,
    ) -> Result<Vec<i64>> {
        const SQL: &str = "INSERT INTO invitations (survey_id, customer_id, token_hash, locale, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut ids = Vec::with_capacity(invitations.len());
            for i in invitations {
                let id: i64 = sqlx::query_scalar(SQL)
                    .bind(i.survey_id.0).bind(i.customer_id.0).bind(i.token_hash.as_str())
                    .bind(i.locale.as_str()).bind(at)
                    .fetch_one(&mut *tx).await?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    pub async fn invitation(&self, id: i64) -> Result<Option<Invitation>> {
        let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE id = $1");
        let row: Option<InvitationRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await)?;
        row.map(Invitation::try_from).transpose()
    }

    /// The invitation whose link carries the token with this hash.
    pub async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<Invitation>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1 \
             OR id = (SELECT invitation_id FROM invitation_tokens WHERE token_hash = $1)"
        );
        let row: Option<InvitationRow> = on_backend!(self, pool => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token_hash).fetch_optional(pool).await)?;
        row.map(Invitation::try_from).transpose()
    }

    /// Keeps the hash of a token made for one email about `invitation`.
    pub async fn add_invitation_token(
        &self,
        invitation: i64,
        token_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO invitation_tokens (token_hash, invitation_id, created_at) VALUES ($1, $2, $3)";
        on_backend!(self, pool => sqlx::query(SQL).bind(token_hash).bind(invitation).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Each customer's latest invitation time, to any survey.
    pub async fn last_invited(
        &self,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, DateTime<Utc>>> {
        const SQL: &str = "SELECT MAX(created_at) FROM invitations WHERE customer_id = $1";
        let mut last = HashMap::new();
        for customer in customers {
            let at: Option<DateTime<Utc>> = on_backend!(self, pool => sqlx::query_scalar(SQL).bind(customer.0).fetch_one(pool).await)?;
            if let Some(at) = at {
                last.insert(*customer, at);
            }
        }
        Ok(last)
    }

    /// Records that an invitation email (`reminder`: its reminder) went
    /// out as `message_id`, in one transaction: the contact is counted as
    /// sent, the invitation marked, `invitation.sent` written and
    /// `follow_up` jobs (the reminder) queued. A crash before this commits
    /// leaves the job to run again, with the same message id.
    pub async fn mark_invitation_sent(
        &self,
        id: i64,
        reminder: bool,
        message_id: &str,
        follow_up: &[NewJob],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let sql = if reminder {
            "UPDATE invitations SET reminded_at = $1 WHERE id = $2 RETURNING survey_id, customer_id"
        } else {
            "UPDATE invitations SET sent_at = $1 WHERE id = $2 RETURNING survey_id, customer_id"
        };
        let jobs: Vec<Vec<Value>> = follow_up.iter().map(|job| job_row(job, at)).collect();
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(CONTACT_SENT).bind(at).bind(message_id).execute(&mut *tx).await?;
            let row: Option<(i64, i64)> = sqlx::query_as(sql).bind(at).bind(id).fetch_optional(&mut *tx).await?;
            execute_inserts!(self.backend(), tx, "jobs", JOB_INSERT_COLUMNS, SKIP_PENDING_DUPLICATES, &jobs).await?;
            if let Some((survey, customer)) = row {
                let event = DomainEvent::InvitationSent {
                    invitation_id: id,
                    survey_id: SurveyId(survey),
                    customer_id: CustomerId(customer),
                    reminder,
                };
                append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Records an unsubscribe from the invitation's link, in one
    /// transaction: the address is suppressed for feedback messages
    /// (`email`: `Email::match_key`), the customer's feedback consent is
    /// recorded as withdrawn and `consent.changed` written; a second click
    /// does nothing.
    pub async fn mark_invitation_unsubscribed(
        &self,
        id: i64,
        email: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        const SQL: &str = "UPDATE invitations SET unsubscribed_at = $1 WHERE id = $2 AND unsubscribed_at IS NULL RETURNING customer_id";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let customer: Option<i64> = sqlx::query_scalar(SQL).bind(at).bind(id).fetch_optional(&mut *tx).await?;
            if let Some(email) = email {
                sqlx::query(SUPPRESS).bind(email).bind(Purpose::Feedback.as_str()).bind("unsubscribed").bind(at).execute(&mut *tx).await?;
            }
            if let Some(customer) = customer {
                let record = ConsentRecord {
                    purpose: Purpose::Feedback,
                    granted: false,
                    basis: vouch_domain::ConsentBasis::LegitimateInterest,
                    source: "unsubscribe link".to_owned(),
                    evidence: Some(format!("invitation {id}")),
                    recorded_at: at,
                };
                crate::outreach::upsert_consent!(self.backend(), tx, CustomerId(customer), &record).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Records that the mail server refused the invitation's address for
    /// good: the address is suppressed for everything, the contact counted
    /// as failed and `invitation.bounced` written.
    pub async fn mark_invitation_bounced(
        &self,
        id: i64,
        email: &str,
        message_id: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        const CUSTOMER: &str = "SELECT customer_id FROM invitations WHERE id = $1";
        on_backend!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let customer: Option<i64> = sqlx::query_scalar(CUSTOMER).bind(id).fetch_optional(&mut *tx).await?;
            sqlx::query("UPDATE invitations SET bounced_at = $2 WHERE id = $1 AND bounced_at IS NULL")
                .bind(id).bind(at).execute(&mut *tx).await?;
            sqlx::query(SUPPRESS).bind(email).bind("all").bind("bounced").bind(at).execute(&mut *tx).await?;
            sqlx::query(CONTACT_FAILED).bind(reason).bind(message_id).execute(&mut *tx).await?;
            if let Some(customer) = customer {
                let event = DomainEvent::InvitationBounced {
                    invitation_id: id,
                    customer_id: CustomerId(customer),
                    reason: reason.to_owned(),
                };
                append_events!(self.backend(), tx, std::slice::from_ref(&event)).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Notes the first time an invitation's page was opened.
    pub async fn mark_invitation_opened(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        const SQL: &str =
            "UPDATE invitations SET opened_at = $2 WHERE id = $1 AND opened_at IS NULL";
        on_backend!(self, pool => sqlx::query(SQL).bind(id).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// What became of a survey's invitations.
    pub async fn invitation_counts(
        &self,
        survey: vouch_domain::SurveyId,
    ) -> Result<InvitationCounts> {
        const SQL: &str = "SELECT COUNT(*), COUNT(*) - COUNT(sent_at), COUNT(sent_at), COUNT(opened_at), \
            COUNT(answered_at), COUNT(bounced_at), COUNT(unsubscribed_at) FROM invitations WHERE survey_id = $1";
        let row: (i64, i64, i64, i64, i64, i64, i64) =
            on_backend!(self, pool => sqlx::query_as(SQL).bind(survey.0).fetch_one(pool).await)?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(InvitationCounts {
            invited: n(row.0),
            queued: n(row.1),
            sent: n(row.2),
            opened: n(row.3),
            answered: n(row.4),
            bounced: n(row.5),
            unsubscribed: n(row.6),
        })
    }

    /// Stops mail of `scope` (a purpose, or `None`: all mail) to an
    /// address (`email`: `Email::match_key`).
    pub async fn suppress_email(
        &self,
        email: &str,
        scope: Option<Purpose>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let scope = scope.map_or("all", Purpose::as_str);
        on_backend!(self, pool => sqlx::query(SUPPRESS).bind(email).bind(scope).bind(reason).bind(at).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Which of `emails` (match keys) must not get a `purpose` message, with
    /// the reason: suppressed for everything or for that purpose.
    pub async fn suppressed_emails(
        &self,
        emails: &[String],
        purpose: Purpose,
    ) -> Result<HashMap<String, String>> {
        const SQL: &str = "SELECT reason FROM suppressions WHERE email = $1 AND scope IN ('all', $2) ORDER BY scope LIMIT 1";
        let mut found = HashMap::new();
        let unique: HashSet<&String> = emails.iter().collect();
        for email in unique {
            let reason: Option<String> = on_backend!(self, pool => sqlx::query_scalar(SQL).bind(email.as_str()).bind(purpose.as_str()).fetch_optional(pool).await)?;
            if let Some(reason) = reason {
                found.insert(email.clone(), reason);
            }
        }
        Ok(found)
    }

    /// Installation settings (branding and the like).
    pub async fn settings(&self) -> Result<BTreeMap<String, String>> {
        let rows: Vec<(String, String)> = on_backend!(self, pool => sqlx::query_as("SELECT name, value FROM settings").fetch_all(pool).await)?;
        Ok(rows.into_iter().collect())
    }

    pub async fn remove_setting(&self, name: &str) -> Result<()> {
        on_backend!(self, pool => sqlx::query("DELETE FROM settings WHERE name = $1").bind(name).execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn set_setting(&self, name: &str, value: &str) -> Result<()> {
        const SQL: &str = "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value";
        on_backend!(self, pool => sqlx::query(SQL).bind(name).bind(value).execute(pool).await.map(|_| ()))?;
        Ok(())
    }
}

const SUPPRESS: &str = "INSERT INTO suppressions (email, scope, reason, at) VALUES ($1, $2, $3, $4) ON CONFLICT (email, scope) DO NOTHING";
const CONTACT_SENT: &str =
    "UPDATE contacts SET state = 'sent', reason = NULL, at = $1 WHERE message_id = $2";
const CONTACT_FAILED: &str =
    "UPDATE contacts SET state = 'failed', reason = $1 WHERE message_id = $2";
