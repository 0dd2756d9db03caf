//! The one road every message to a customer takes. Before a message is
//! built, its purpose is checked against the customer's consent and the
//! suppression list (again at send time, not only when it was queued),
//! and it claims room in the one contact budget or is deferred with a
//! reason; once the mail server has it, marking it sent and queueing what
//! follows commit together. The mailer (vouch-server) only renders and
//! talks SMTP.

use chrono::{DateTime, Utc};
use vouch_domain::{
    BudgetDecision, ContactPolicy, Email, Purpose, SurveyDesign, SurveyStatus, consent_allows,
};
use vouch_store::{ContactRequest, Invitation, Store};

use crate::Result;
use crate::jobs::Task;
use crate::surveys::{Branding, EmailJob};

/// A survey email cleared to go: everything the mailer needs to render
/// and send it.
#[derive(Debug, Clone)]
pub struct SurveyEmail {
    pub invitation: Invitation,
    pub design: SurveyDesign,
    pub to: Email,
    pub branding: Branding,
    /// The link's token, made now; only its hash is stored.
    pub token: String,
    pub reminder: bool,
    /// The same for every attempt of the job: a repeat after a crash is
    /// recognisable as the same message.
    pub message_id: String,
    pub customer_name: Option<String>,
    /// The company's own template for the customer's language, if any.
    pub template: Option<crate::templates::MessageTemplate>,
}

/// What to do with a survey email job.
#[derive(Debug, Clone)]
pub enum Prepared {
    Send(Box<SurveyEmail>),
    /// Nothing to send, for good (answered, unsubscribed, no consent…).
    Skipped(String),
    /// Not now: the budget has no room until `until`.
    Deferred {
        until: DateTime<Utc>,
        reason: String,
    },
}

/// The `Message-ID` of job `job_id` (`what`: its dedupe key), under `domain`.
pub fn message_id(job_id: i64, what: &str, domain: &str) -> String {
    let what: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!("<{what}.{job_id}@{domain}>")
}

/// Why a message to a customer does not go out now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Not at all: `why`, and the compliance rule it follows if any.
    Refused {
        why: String,
        rule: Option<&'static str>,
    },
    /// Not before `until`: the contact budget is spent.
    Deferred {
        until: DateTime<Utc>,
        reason: String,
    },
}

/// The one gate every message to a customer passes, in order: the
/// sender's identity (a marketing message needs the postal address),
/// consent for its purpose (R6; service messages need none), suppression
/// of the address, and the contact budget, whose room it claims. A
/// refusal is recorded against the contact as skipped.
pub async fn clear_to_send(
    store: &Store,
    contact: &ContactRequest,
    to: &Email,
    time_zone: Option<chrono_tz::Tz>,
    policy: &ContactPolicy,
    branding: &Branding,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), Hold>> {
    let refused = |why: String, rule| Hold::Refused { why, rule };
    let purpose = contact.purpose;
    let mut hold =
        vouch_domain::sender_identity_allows(purpose, branding.postal_address.as_deref())
            .err()
            .map(|why| refused(why, None));
    if hold.is_none() && purpose != Purpose::Service {
        let consents = store.consents_of(contact.customer_id).await?;
        hold = consent_allows(purpose, consents.iter().find(|c| c.purpose == purpose))
            .err()
            .map(|why| refused(why, Some("R6")));
    }
    if hold.is_none()
        && let Some(reason) = store
            .suppressed_emails(&[to.match_key()], purpose)
            .await?
            .values()
            .next()
    {
        hold = Some(refused(
            format!("the address is suppressed ({reason})"),
            None,
        ));
    }
    if let Some(Hold::Refused { why, .. }) = &hold {
        store.skip_contact(contact, why, now).await?;
        return Ok(Err(hold.expect("just matched")));
    }
    Ok(
        match store
            .reserve_contact(contact, &policy.budget, time_zone, now)
            .await?
        {
            BudgetDecision::Defer { until, reason } => Err(Hold::Deferred { until, reason }),
            _ => Ok(()),
        },
    )
}

/// A customer's own time zone (their `time_zone` attribute), for quiet hours.
pub fn time_zone_of(customer: &vouch_domain::Customer) -> Option<chrono_tz::Tz> {
    customer
        .profile
        .attributes
        .get("time_zone")
        .and_then(|z| z.parse().ok())
}

/// Decides whether survey email `job` (job `job_id`) goes out now, and
/// claims its room in the budget if it does.
pub async fn prepare_survey_email(
    store: &Store,
    job_id: i64,
    job: &EmailJob,
    policy: &ContactPolicy,
    mail_domain: &str,
) -> Result<Prepared> {
    let skipped = |why: &str| Ok(Prepared::Skipped(why.to_owned()));
    let Some(invitation) = store.invitation(job.invitation_id).await? else {
        return skipped("the invitation is gone");
    };
    let now = Utc::now();
    let wanted = if job.reminder {
        policy.reminder_due(invitation.state, now)
    } else {
        invitation.state.sent_at.is_none()
    };
    if !wanted {
        return skipped("answered, unsubscribed or already sent");
    }
    let Some(design) = store
        .survey_design(invitation.survey_id)
        .await?
        .filter(|d| d.status == SurveyStatus::Active)
    else {
        return skipped("the survey is not active");
    };
    let Some(customer) = store.customer(invitation.customer_id).await? else {
        return skipped("the customer is gone");
    };
    let Some(to) = customer.profile.email.clone() else {
        return skipped("the customer has no email address");
    };
    let kind = if job.reminder {
        "reminder"
    } else {
        "invitation"
    };
    let task = Task::SurveyEmail(job.clone());
    let contact = ContactRequest {
        customer_id: customer.id,
        purpose: Purpose::Feedback,
        what: format!("survey {kind} {} ({})", invitation.id, design.survey.name),
        message_id: message_id(job_id, &task.dedupe_key(), mail_domain),
    };
    let branding = crate::surveys::branding(store).await?;
    let zone = time_zone_of(&customer);
    match clear_to_send(store, &contact, &to, zone, policy, &branding, now).await? {
        Ok(()) => {}
        Err(Hold::Refused { why, .. }) => return Ok(Prepared::Skipped(why)),
        Err(Hold::Deferred { until, reason }) => return Ok(Prepared::Deferred { until, reason }),
    }
    let token = match &job.token {
        Some(token) => token.clone(),
        None => crate::surveys::issue_token(store, invitation.id).await?,
    };
    let template = crate::templates::custom(
        store,
        crate::templates::TemplateName::SurveyEmail,
        invitation.locale.language(),
    )
    .await?;
    Ok(Prepared::Send(Box::new(SurveyEmail {
        invitation,
        design,
        to,
        branding,
        token,
        reminder: job.reminder,
        message_id: contact.message_id,
        customer_name: customer.profile.name.clone(),
        template,
    })))
}

/// The mail server took the message: it counts as sent, the invitation is
/// marked and its one reminder queued, in one transaction.
pub async fn survey_email_sent(
    store: &Store,
    email: &SurveyEmail,
    policy: &ContactPolicy,
) -> Result<()> {
    let sent = Utc::now();
    let follow_up: Vec<_> = if email.reminder {
        Vec::new()
    } else {
        // The one reminder, due `remind_after` from now; it checks again before sending.
        let reminder = Task::SurveyEmail(EmailJob {
            invitation_id: email.invitation.id,
            reminder: true,
            token: None,
        });
        vec![reminder.job(sent + policy.remind_after)]
    };
    store
        .mark_invitation_sent(
            email.invitation.id,
            email.reminder,
            &email.message_id,
            &follow_up,
            sent,
        )
        .await?;
    Ok(())
}

/// The mail server refused the address for good: no mail goes to it
/// again, and the reservation is given back.
pub async fn survey_email_refused(store: &Store, email: &SurveyEmail, reason: &str) -> Result<()> {
    store
        .mark_invitation_bounced(
            email.invitation.id,
            &email.to.match_key(),
            &email.message_id,
            reason,
            Utc::now(),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_ids_are_stable_per_job() {
        let id = super::message_id(7, "survey.email:12:invitation", "acme.example");
        assert_eq!(id, "<survey.email.12.invitation.7@acme.example>");
        assert_eq!(
            id,
            super::message_id(7, "survey.email:12:invitation", "acme.example")
        );
    }
}

/// What is left of a customer's budget now.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct BudgetLeft {
    /// The budget, as set (`2 per 30d`); none when uncapped.
    pub budget: Option<String>,
    /// Messages counted in its window (reserved or sent).
    pub used: u32,
    /// Messages left in the window; none when uncapped.
    pub left: Option<u32>,
    /// When the next feedback message could go out (now, if it could).
    pub next_possible_at: DateTime<Utc>,
    /// Why not sooner, when not now.
    pub waiting_for: Option<String>,
}

/// Every message to a customer, newest first, with what is left.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ContactsReport {
    pub contacts: Vec<vouch_store::Contact>,
    pub budget: BudgetLeft,
}

/// The customer's contacts and budget; `None` when there is no such customer.
pub async fn contacts_report(
    store: &Store,
    customer: vouch_domain::CustomerId,
    policy: &ContactPolicy,
) -> Result<Option<ContactsReport>> {
    let Some(found) = store.customer(customer).await? else {
        return Ok(None);
    };
    let contacts = store.contacts_of(customer, 500).await?;
    let now = Utc::now();
    let counted: Vec<vouch_domain::PastContact> = contacts
        .iter()
        .filter(|c| matches!(c.state.as_str(), "reserved" | "sent"))
        .map(|c| vouch_domain::PastContact {
            at: c.at,
            purpose: c.purpose,
        })
        .collect();
    let total = policy.budget.total;
    let used = total.map_or(counted.len(), |rate| {
        let since = now - chrono::Duration::days(i64::from(rate.days));
        counted
            .iter()
            .filter(|c| c.at > since && c.purpose != Purpose::Service)
            .count()
    }) as u32;
    let zone = found
        .profile
        .attributes
        .get("time_zone")
        .and_then(|z| z.parse().ok());
    let (next_possible_at, waiting_for) =
        match policy.budget.decide(&counted, Purpose::Feedback, now, zone) {
            BudgetDecision::Send => (now, None),
            BudgetDecision::Defer { until, reason } => (until, Some(reason)),
        };
    Ok(Some(ContactsReport {
        contacts,
        budget: BudgetLeft {
            budget: total.map(|r| r.to_string()),
            used,
            left: total.map(|r| r.count.saturating_sub(used)),
            next_possible_at,
            waiting_for,
        },
    }))
}

/// Records a customer's consent to (or withdrawal from) one purpose.
/// Service messages need no consent, so they take none.
pub async fn record_consent(
    store: &Store,
    customer: vouch_domain::CustomerId,
    record: vouch_domain::ConsentRecord,
) -> Result<std::result::Result<vouch_domain::ConsentRecord, String>> {
    if record.purpose == Purpose::Service {
        return Ok(Err(
            "service messages need no consent; record feedback, marketing, referral or advocacy"
                .to_owned(),
        ));
    }
    if store.customer(customer).await?.is_none() {
        return Ok(Err(format!("no customer {customer}")));
    }
    store.set_consent(customer, &record).await?;
    Ok(Ok(record))
}
