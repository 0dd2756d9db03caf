//! Surveys as the company designs them (status, public link, questions in
//! each language) and the rules for contacting customers: one contact
//! budget across all surveys, one reminder, never after an answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::names::named_enum;
use crate::{Survey, SurveyKind};

named_enum! {
    /// Whether a survey takes answers and sends invitations.
    pub enum SurveyStatus as "survey status" {
        /// Invitations go out; links and pages take answers.
        Active = "active",
        /// Nothing goes out; answers to invitations already sent are still taken.
        Paused = "paused",
        /// Closed: no invitations, no answers; kept for its numbers.
        Archived = "archived",
    }
}

/// A survey's wording, per language code (`en`, `ro`). `{company}` is
/// replaced by the company's name when shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SurveyTexts {
    #[serde(default)]
    pub question: BTreeMap<String, String>,
    /// The question over the comment box, after a score.
    #[serde(default)]
    pub follow_up: BTreeMap<String, String>,
}

impl SurveyTexts {
    /// Good default wording for a kind, in English and Romanian.
    pub fn defaults(kind: SurveyKind) -> SurveyTexts {
        let (en, ro) = match kind {
            SurveyKind::Nps => (
                "How likely is it that you would recommend {company} to a friend or colleague?",
                "Cât de probabil este să recomanzi {company} unui prieten sau coleg?",
            ),
            SurveyKind::Csat => (
                "How satisfied are you with {company}?",
                "Cât de mulțumit ești de {company}?",
            ),
            SurveyKind::Ces => (
                "How easy was it to get what you needed from {company}?",
                "Cât de ușor a fost să obții ce aveai nevoie de la {company}?",
            ),
        };
        let pair = |en: &str, ro: &str| {
            BTreeMap::from([
                ("en".to_owned(), en.to_owned()),
                ("ro".to_owned(), ro.to_owned()),
            ])
        };
        SurveyTexts {
            question: pair(en, ro),
            follow_up: pair(
                "What is the most important reason for your score?",
                "Care este principalul motiv pentru nota acordată?",
            ),
        }
    }

    /// The given texts over the defaults: a language or field not given keeps its default.
    pub fn over_defaults(self, kind: SurveyKind) -> SurveyTexts {
        let mut texts = SurveyTexts::defaults(kind);
        texts.question.extend(self.question);
        texts.follow_up.extend(self.follow_up);
        texts
    }

    /// Languages whose question or follow-up still has the default wording
    /// while another language's was written by the company: customers of
    /// those languages would read a different question.
    pub fn left_at_default(&self, kind: SurveyKind) -> Vec<String> {
        let defaults = SurveyTexts::defaults(kind);
        let mut left = Vec::new();
        for (texts, defaults) in [
            (&self.question, &defaults.question),
            (&self.follow_up, &defaults.follow_up),
        ] {
            let custom = |language: &str| {
                texts
                    .get(language)
                    .is_some_and(|t| defaults.get(language) != Some(t))
            };
            if defaults.keys().any(|l| custom(l)) {
                for language in defaults.keys().filter(|l| !custom(l)) {
                    if !left.contains(language) {
                        left.push(language.clone());
                    }
                }
            }
        }
        left
    }

    /// The question in `language`, else English, with `{company}` filled in.
    pub fn question_in(&self, language: &str, company: &str) -> String {
        pick(&self.question, language).replace("{company}", company)
    }

    pub fn follow_up_in(&self, language: &str, company: &str) -> String {
        pick(&self.follow_up, language).replace("{company}", company)
    }
}

fn pick<'a>(texts: &'a BTreeMap<String, String>, language: &str) -> &'a str {
    texts
        .get(language)
        .or_else(|| texts.get("en"))
        .or_else(|| texts.values().next())
        .map_or("", String::as_str)
}

/// A survey with what the company designed for it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SurveyDesign {
    #[serde(flatten)]
    pub survey: Survey,
    pub status: SurveyStatus,
    /// The public link is `/l/{slug}`.
    pub slug: String,
    pub texts: SurveyTexts,
}

/// How often a customer may be asked, across all surveys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactPolicy {
    /// No new invitation within this long of the customer's last one.
    pub throttle: Duration,
    /// One reminder this long after an unanswered invitation.
    pub remind_after: Duration,
    /// An answer can be changed for this long after it is first given.
    pub editable_for: Duration,
    /// The one budget every message spends from, checked when it is sent.
    pub budget: crate::ContactBudget,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        ContactPolicy {
            throttle: Duration::days(90),
            remind_after: Duration::days(3),
            editable_for: Duration::hours(24),
            budget: crate::ContactBudget::default(),
        }
    }
}

/// What is known of one invitation when deciding what may happen next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationState {
    pub sent_at: Option<DateTime<Utc>>,
    pub reminded_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
}

impl ContactPolicy {
    /// Whether a customer last invited at `last` may be invited at `now`.
    pub fn may_invite(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        last.is_none_or(|last| now - last >= self.throttle)
    }

    /// Whether the one reminder is due: sent, unanswered, not unsubscribed,
    /// not reminded yet, and `remind_after` has passed.
    pub fn reminder_due(&self, state: InvitationState, now: DateTime<Utc>) -> bool {
        match state {
            InvitationState {
                sent_at: Some(sent),
                reminded_at: None,
                answered_at: None,
                unsubscribed_at: None,
            } => now - sent >= self.remind_after,
            _ => false,
        }
    }

    /// Whether an answer first given at `answered_at` may still change at `now`.
    pub fn may_edit(&self, answered_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        now - answered_at <= self.editable_for
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_question_written_in_one_language_leaves_the_other_at_the_default() {
        let defaults = SurveyTexts::defaults(SurveyKind::Nps);
        assert!(defaults.left_at_default(SurveyKind::Nps).is_empty());
        let mut texts = defaults.clone();
        texts
            .question
            .insert("en".into(), "Would you recommend us?".into());
        assert_eq!(texts.left_at_default(SurveyKind::Nps), ["ro"]);
        texts
            .question
            .insert("ro".into(), "Ne-ai recomanda?".into());
        assert!(texts.left_at_default(SurveyKind::Nps).is_empty());
        texts.follow_up.insert("ro".into(), "De ce?".into());
        assert_eq!(texts.left_at_default(SurveyKind::Nps), ["en"]);
    }

    use super::*;

    fn day(d: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000 + d)
    }

    #[test]
    fn one_contact_budget_one_reminder_and_a_day_to_change_an_answer() {
        let p = ContactPolicy::default();
        assert!(p.may_invite(None, day(0)));
        assert!(!p.may_invite(Some(day(0)), day(89)));
        assert!(p.may_invite(Some(day(0)), day(90)));
        let sent = InvitationState {
            sent_at: Some(day(0)),
            reminded_at: None,
            answered_at: None,
            unsubscribed_at: None,
        };
        assert!(!p.reminder_due(sent, day(2)));
        assert!(p.reminder_due(sent, day(3)));
        for done in [
            InvitationState {
                answered_at: Some(day(1)),
                ..sent
            },
            InvitationState {
                unsubscribed_at: Some(day(1)),
                ..sent
            },
            InvitationState {
                reminded_at: Some(day(3)),
                ..sent
            },
            InvitationState {
                sent_at: None,
                ..sent
            },
        ] {
            assert!(!p.reminder_due(done, day(10)), "{done:?}");
        }
        assert!(p.may_edit(day(0), day(0) + Duration::hours(24)));
        assert!(!p.may_edit(day(0), day(1) + Duration::seconds(1)));
    }

    #[test]
    fn questions_fall_back_to_english_and_name_the_company() {
        let texts = SurveyTexts {
            question: BTreeMap::from([(
                "de".to_owned(),
                "Würden Sie {company} empfehlen?".to_owned(),
            )]),
            ..SurveyTexts::default()
        }
        .over_defaults(SurveyKind::Nps);
        assert_eq!(
            texts.question_in("de", "Acme"),
            "Würden Sie Acme empfehlen?"
        );
        assert!(
            texts
                .question_in("ro", "Acme")
                .starts_with("Cât de probabil")
        );
        assert!(texts.question_in("fr", "Acme").contains("recommend Acme"));
        assert!(texts.follow_up_in("ro", "Acme").contains("motiv"));
    }
}
