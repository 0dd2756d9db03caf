//! Surveys end to end: design them, invite customers within one contact
//! budget, and take answers from one-click links, hosted pages and public
//! links. Mail itself is sent by the server's job workers.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use vouch_domain::{
    Answer, Channel, ContactPolicy, Customer, CustomerId, Locale, ResponseId, Score, SurveyDesign,
    SurveyKind, SurveyStatus, SurveyTexts,
};
use vouch_store::{CustomerFilter, Invitation, NewInvitation, NewJob, Store, StoreError};

use crate::secrets::{new_secret, secret_hash};
use crate::{AppError, Result};

/// Attempts per email before it goes to the dead letters.
pub const EMAIL_ATTEMPTS: i32 = 6;

/// Comments longer than this are refused (a page says so; nothing is cut).
pub const MAX_COMMENT_CHARS: usize = 5_000;

/// What a `survey.email` job carries: no token. The link's token is made
/// when the email is sent (`issue_token`) and lives only in the email; the
/// store keeps its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailJob {
    pub invitation_id: i64,
    pub reminder: bool,
    /// Only in jobs queued by Vouch before tokens were made at send time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A new token for one email about `invitation`: 256 random bits, of which
/// the store keeps only the hash. Its link answers and unsubscribes.
pub async fn issue_token(store: &Store, invitation: i64) -> Result<String> {
    let token = new_secret();
    store
        .add_invitation_token(invitation, &secret_hash(&token), Utc::now())
        .await?;
    Ok(token)
}

/// The company's look on survey pages and emails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Branding {
    pub company_name: String,
    /// `#RRGGBB`.
    pub colour: String,
    /// An http(s) image URL, or none.
    pub logo_url: Option<String>,
    /// The company's postal address, printed in the footer of messages;
    /// marketing messages are not sent without it (see docs/COMPLIANCE.md).
    pub postal_address: Option<String>,
}

/// The characters besides letters and digits that a logo URL's path and
/// query may hold: RFC 3986's unreserved, sub-delims, `:`, `@`, `%`, `/`
/// and `?`. No quote, space or angle bracket, since the URL goes into
/// emails and pages as it is.
pub const LOGO_URL_PUNCTUATION: &str = "._~!$&'()*+,;=:@%/?-";

/// An https URL with a host (letters, digits, dots, dashes) and an
/// optional port, path and query: where the logo on pages and emails
/// is loaded from. https only, so pages served over TLS never mix content.
pub fn logo_url_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()));
    let tail_ok = tail
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || LOGO_URL_PUNCTUATION.contains(c));
    url.len() <= 2000 && host_ok && port_ok && tail_ok
}

impl Branding {
    pub fn from_settings(settings: &BTreeMap<String, String>) -> Branding {
        Branding {
            company_name: settings
                .get("company_name")
                .cloned()
                .unwrap_or_else(|| "Vouch".to_owned()),
            colour: settings
                .get("brand_colour")
                .cloned()
                .unwrap_or_else(|| "#1d4ed8".to_owned()),
            logo_url: settings.get("logo_url").cloned(),
            postal_address: settings.get("postal_address").cloned(),
        }
    }

    /// Checks and saves the branding.
    pub async fn save(&self, store: &Store) -> Result<()> {
        let colour_ok = self.colour.len() == 7
            && self.colour.starts_with('#')
            && self.colour[1..].chars().all(|c| c.is_ascii_hexdigit());
        if !colour_ok {
            return Err(AppError::Refused(format!(
                "colour {:?} is not #RRGGBB",
                self.colour
            )));
        }
        // Counted as given, kept trimmed.
        let name = self.company_name.trim();
        if name.is_empty() || self.company_name.chars().count() > 100 {
            return Err(AppError::Refused(
                "the company name needs 1 to 100 characters".to_owned(),
            ));
        }
        if let Some(url) = &self.logo_url
            && !logo_url_ok(url)
        {
            return Err(AppError::Refused(format!(
                "logo {url:?} is not an https URL (https://host/path, no spaces or quotes)"
            )));
        }
        if let Some(address) = &self.postal_address
            && (address.chars().count() > 300 || address.chars().any(char::is_control))
        {
            return Err(AppError::Refused(
                "the postal address needs at most 300 characters on one line".to_owned(),
            ));
        }
        store.set_setting("company_name", name).await?;
        store
            .set_setting(
                "postal_address",
                self.postal_address.as_deref().map(str::trim).unwrap_or(""),
            )
            .await?;
        store.set_setting("brand_colour", &self.colour).await?;
        store
            .set_setting("logo_url", self.logo_url.as_deref().unwrap_or(""))
            .await?;
        Ok(())
    }
}

pub async fn branding(store: &Store) -> Result<Branding> {
    let mut settings = store.settings().await?;
    settings.retain(|_, v| !v.is_empty());
    Ok(Branding::from_settings(&settings))
}

/// Creates a survey; texts not given get good defaults in English and Romanian.
pub async fn create_survey(
    store: &Store,
    kind: SurveyKind,
    name: &str,
    texts: SurveyTexts,
) -> Result<SurveyDesign> {
    let name = checked_name(name)?;
    check_texts(&texts)?;
    // Readable and unguessable enough not to be enumerated: name, then 48 random bits.
    let stem: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .take(6)
        .collect::<Vec<_>>()
        .join("-");
    let slug = format!("{stem}-{}", &new_secret()[..12]);
    match store
        .create_survey(kind, name, slug.trim_start_matches('-'), &texts, Utc::now())
        .await
    {
        Err(e) if e.is_unique_violation() => Err(AppError::Conflict(format!(
            "a survey called {name:?} exists already"
        ))),
        other => Ok(other?),
    }
}

/// A survey's name: at most 200 characters as given, at least one that
/// is not a space; kept trimmed.
fn checked_name(name: &str) -> Result<&str> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(AppError::Refused(
            "a survey name needs 1 to 200 characters".to_owned(),
        ));
    }
    Ok(name.trim())
}

fn check_texts(texts: &SurveyTexts) -> Result<()> {
    for (language, text) in texts.question.iter().chain(&texts.follow_up) {
        Locale::parse(language).map_err(|e| AppError::Refused(e.to_string()))?;
        if text.trim().is_empty() || text.chars().count() > 500 {
            return Err(AppError::Refused(format!(
                "the {language} wording needs 1 to 500 characters"
            )));
        }
    }
    Ok(())
}

/// Changes a survey's name, status or wording (fields left `None` stay).
pub async fn update_survey(
    store: &Store,
    design: SurveyDesign,
    name: Option<String>,
    status: Option<SurveyStatus>,
    texts: Option<SurveyTexts>,
) -> Result<SurveyDesign> {
    if let Some(texts) = &texts {
        check_texts(texts)?;
    }
    let texts = texts.map_or(design.texts, |t| t.over_defaults(design.survey.kind));
    let name = name.unwrap_or(design.survey.name);
    store
        .update_survey(
            design.survey.id,
            checked_name(&name)?,
            status.unwrap_or(design.status),
            &texts,
        )
        .await?;
    Ok(store
        .survey_design(design.survey.id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "survey",
            key: design.survey.id.0.to_string(),
        })?)
}

/// Who to invite.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Customers by Vouch id, email or external id.
    Customers(Vec<String>),
    /// Every customer whose attributes all match (none: every customer).
    Where(Vec<(String, String)>),
}

/// Invites `audience` to `survey` at `at` (a job; now or later), once per
/// `round` key: the same key again schedules nothing more.
pub async fn schedule_round(
    store: &Store,
    survey: &SurveyDesign,
    audience: Audience,
    at: chrono::DateTime<Utc>,
    round: &str,
) -> Result<()> {
    if survey.status != SurveyStatus::Active {
        return Err(AppError::Conflict(format!(
            "survey {:?} is {}; only active surveys send invitations",
            survey.survey.name, survey.status
        )));
    }
    let job = crate::jobs::Task::SurveyRound {
        survey_id: survey.survey.id.0,
        audience,
        round: round.to_owned(),
    }
    .job(at);
    store.enqueue_jobs(&[job], Utc::now()).await?;
    Ok(())
}

/// What an invitation round did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InviteReport {
    /// Invitations created and queued for mailing.
    pub queued: u64,
    /// Invited too recently (any survey), per the contact budget.
    pub throttled: u64,
    /// No address, unsubscribed or bouncing.
    pub suppressed: u64,
    /// Keys that named no customer.
    pub unknown: Vec<String>,
}

/// Invites the audience to `survey`: one invitation and email per customer
/// outside the contact budget. Sending an invitation schedules its reminder.
pub async fn invite(
    store: &Store,
    survey: &SurveyDesign,
    audience: &Audience,
    policy: &ContactPolicy,
) -> Result<InviteReport> {
    if survey.status != SurveyStatus::Active {
        return Err(AppError::Conflict(format!(
            "survey {:?} is {}; only active surveys send invitations",
            survey.survey.name, survey.status
        )));
    }
    let mut report = InviteReport::default();
    let mut customers: BTreeMap<CustomerId, Customer> = BTreeMap::new();
    match audience {
        Audience::Customers(keys) => {
            for key in keys {
                match store.find_customer(key).await {
                    Ok(c) => {
                        customers.insert(c.id, c);
                    }
                    Err(StoreError::NotFound { .. }) => report.unknown.push(key.clone()),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Audience::Where(attributes) => {
            let filter = CustomerFilter {
                attributes: attributes.clone(),
                ..CustomerFilter::default()
            };
            let mut after = None;
            loop {
                let page = store.customers(&filter, after, 500).await?;
                after = page.last().map(|c| c.id);
                let done = page.len() < 500;
                customers.extend(page.into_iter().map(|c| (c.id, c)));
                if done {
                    break;
                }
            }
        }
    }
    let now = Utc::now();
    let keys: Vec<String> = customers
        .values()
        .filter_map(|c| c.profile.email.as_ref().map(|e| e.match_key()))
        .collect();
    let suppressed = store
        .suppressed_emails(&keys, vouch_domain::Purpose::Feedback)
        .await?;
    let ids: Vec<CustomerId> = customers.keys().copied().collect();
    let last = store.last_invited(&ids).await?;
    let mut invitations = Vec::new();
    for customer in customers.values() {
        let Some(email) = &customer.profile.email else {
            report.suppressed += 1;
            continue;
        };
        if suppressed.contains_key(&email.match_key()) {
            report.suppressed += 1;
            continue;
        }
        if !policy.may_invite(last.get(&customer.id).copied(), now) {
            report.throttled += 1;
            continue;
        }
        invitations.push(NewInvitation {
            survey_id: survey.survey.id,
            customer_id: customer.id,
            // The column wants a unique hash; this one's secret is thrown
            // away, so no link opens it (links get theirs when sent).
            token_hash: secret_hash(&new_secret()),
            locale: customer.profile.locale.clone(),
        });
    }
    let ids = store.add_invitations(&invitations, now).await?;
    let jobs: Vec<NewJob> = ids
        .iter()
        .map(|id| {
            crate::jobs::Task::SurveyEmail(EmailJob {
                invitation_id: *id,
                reminder: false,
                token: None,
            })
            .job(now)
        })
        .collect();
    store.enqueue_jobs(&jobs, now).await?;
    report.queued = ids.len() as u64;
    Ok(report)
}

/// An invitation found by its token, with its survey: what the hosted
/// pages show and what an answer needs, read once per request.
#[derive(Debug, Clone, PartialEq)]
pub struct Invited {
    pub invitation: Invitation,
    pub design: SurveyDesign,
}

/// The answer already given through an invitation, shown when its link
/// is opened again.
pub async fn saved_answer(
    store: &Store,
    invited: &Invited,
) -> Result<Option<vouch_domain::Response>> {
    match invited.invitation.response_id {
        Some(id) => Ok(store.response(id).await?),
        None => Ok(None),
    }
}

/// The invitation behind `token`, if any.
pub async fn invited(store: &Store, token: &str) -> Result<Option<Invited>> {
    let Some(invitation) = store.invitation_by_token(&secret_hash(token)).await? else {
        return Ok(None);
    };
    Ok(store
        .survey_design(invitation.survey_id)
        .await?
        .map(|design| Invited { invitation, design }))
}

/// What became of an answer given with an invitation's token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenAnswer {
    /// The invitation's answer vanished (its survey answer was deleted).
    Unknown,
    /// The survey is archived, or the answer can no longer change.
    Closed,
    Saved(ResponseId),
}

/// An answer's score and comment, checked against the survey's scale.
fn checked(kind: SurveyKind, score: i64, comment: Option<&str>) -> Result<(Score, Option<String>)> {
    let score = Score::new(kind, score).map_err(|e| AppError::Refused(e.to_string()))?;
    let comment = comment.map(vouch_domain::text::without_controls);
    let comment = comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(AppError::Refused(format!(
            "comments are limited to {MAX_COMMENT_CHARS} characters"
        )));
    }
    Ok((score, comment.map(str::to_owned)))
}

/// Records (or, within the editing window, changes) the answer to an
/// invitation. A token answers once; later calls update that answer.
/// `comment: None` (a one-click score) leaves the comment as it was.
pub async fn answer_invitation(
    store: &Store,
    invited: &Invited,
    score: i64,
    comment: Option<&str>,
    policy: &ContactPolicy,
) -> Result<TokenAnswer> {
    let Invited { invitation, design } = invited;
    if design.status == SurveyStatus::Archived {
        return Ok(TokenAnswer::Closed);
    }
    let given_comment = comment;
    let (score, comment) = checked(design.survey.kind, score, comment)?;
    let now = Utc::now();
    let first = match invitation.state.answered_at {
        None => {
            let answer = Answer {
                survey_id: design.survey.id,
                customer_id: Some(invitation.customer_id),
                score,
                comment: comment.clone(),
                channel: Channel::Email,
                locale: Some(invitation.locale.clone()),
                answered_at: now,
                metadata: BTreeMap::new(),
            };
            crate::records::record_first_answer(store, invitation.id, answer).await?
        }
        Some(_) => None,
    };
    let response = if let Some(id) = first {
        id
    } else {
        // Answered before, or a moment ago by another request: change that answer.
        // The first answer and its link commit together, so they are there.
        let current = store
            .invitation(invitation.id)
            .await?
            .unwrap_or(invitation.clone());
        let (Some(response), Some(answered_at)) = (current.response_id, current.state.answered_at)
        else {
            return Ok(TokenAnswer::Unknown);
        };
        if !policy.may_edit(answered_at, now) {
            return Ok(TokenAnswer::Closed);
        }
        // A one-click score (no comment field) keeps the comment given before.
        let comment = match given_comment {
            Some(_) => comment,
            None => store
                .response(response)
                .await?
                .and_then(|r| r.answer.comment),
        };
        store
            .update_answer(response, score, comment.as_deref())
            .await?;
        crate::text::tag_untagged(store, &crate::text::analyzer(store).await?).await?;
        response
    };
    Ok(TokenAnswer::Saved(response))
}

/// An anonymous answer through a survey's public link.
pub async fn answer_link(
    store: &Store,
    design: &SurveyDesign,
    score: i64,
    comment: Option<&str>,
    locale: Option<Locale>,
) -> Result<ResponseId> {
    if design.status != SurveyStatus::Active {
        return Err(AppError::Refused(format!(
            "this survey is {}",
            design.status
        )));
    }
    let (score, comment) = checked(design.survey.kind, score, comment)?;
    let answer = Answer {
        survey_id: design.survey.id,
        customer_id: None,
        score,
        comment,
        channel: Channel::Link,
        locale,
        answered_at: Utc::now(),
        metadata: BTreeMap::new(),
    };
    Ok(crate::records::record_answers(store, &[answer]).await?[0])
}

/// Stops all mail to the invited customer's address, and records the
/// withdrawn consent.
pub async fn unsubscribe(store: &Store, invitation: &Invitation) -> Result<()> {
    let email = store
        .customer(invitation.customer_id)
        .await?
        .and_then(|c| c.profile.email)
        .map(|e| e.match_key());
    store
        .mark_invitation_unsubscribed(invitation.id, email.as_deref(), Utc::now())
        .await?;
    Ok(())
}
