//! Nurturing paths: what a playbook is (a trigger, conditions, ordered
//! steps), how its conditions read a customer and an event, who is held
//! out, and the compliance guard every playbook passes when it is saved
//! and every step passes when it runs. Pure: the store keeps playbooks and
//! runs, vouch-app runs them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::names::named_enum;
use crate::{EventKind, LoyaltyCategory, Purpose};

named_enum! {
    /// What a close-the-loop task is for.
    pub enum TaskType as "task type" {
        /// An unhappy customer to be heard and answered.
        CloseLoop = "close_loop",
        /// A customer who may leave.
        Risk = "risk",
        /// A customer who could buy more or speak for the company.
        Opportunity = "opportunity",
        /// Work with an advocate.
        Advocacy = "advocacy",
    }
}

named_enum! {
    pub enum Priority as "priority" {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
}

named_enum! {
    /// The public platforms a review request can point to.
    pub enum ReviewPlatform as "review platform" {
        Google = "google",
        Trustpilot = "trustpilot",
        Amazon = "amazon",
        Yelp = "yelp",
        Tripadvisor = "tripadvisor",
        AppStore = "app_store",
        GooglePlay = "google_play",
        G2 = "g2",
        Capterra = "capterra",
        Facebook = "facebook",
        Other = "other",
    }
}

impl ReviewPlatform {
    /// Platforms whose own rules forbid any incentive for a review (R3;
    /// docs/COMPLIANCE.md has each source).
    pub fn forbids_incentives(self) -> bool {
        matches!(
            self,
            ReviewPlatform::Google
                | ReviewPlatform::Trustpilot
                | ReviewPlatform::Amazon
                | ReviewPlatform::Yelp
                | ReviewPlatform::Tripadvisor
        )
    }
}

/// What starts a run: an event from the outbox (optionally only a
/// category move `from` → `to`), or a schedule that runs the playbook
/// for every customer once per slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// For `customer.category_changed`: only moves out of this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<LoyaltyCategory>,
    /// For `customer.category_changed`: only moves into this category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<LoyaltyCategory>,
}

impl Trigger {
    /// A trigger on event `kind`.
    pub fn on(kind: EventKind) -> Trigger {
        Trigger {
            event: Some(kind),
            schedule: None,
            from: None,
            to: None,
        }
    }

    /// Whether the trigger selects by loyalty category (R1 counts it as a
    /// condition on category).
    fn reads_category(&self) -> bool {
        self.event == Some(EventKind::CustomerCategoryChanged)
            || self.from.is_some()
            || self.to.is_some()
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.event, &self.schedule) {
            (_, Some(s)) => write!(f, "every {} at {:02}:00", s.every, s.hour),
            (Some(e), None) => {
                write!(f, "{e}")?;
                match (self.from, self.to) {
                    (None, None) => Ok(()),
                    (from, to) => write!(
                        f,
                        " {} → {}",
                        from.map_or("any".to_owned(), |c| c.to_string()),
                        to.map_or("any".to_owned(), |c| c.to_string())
                    ),
                }
            }
            (None, None) => f.write_str("nothing"),
        }
    }
}

named_enum! {
    /// How often a scheduled playbook runs.
    pub enum Every as "schedule period" {
        Day = "day",
        /// On Mondays.
        Week = "week",
        /// On the first of the month.
        Month = "month",
    }
}

/// A schedule: once per day, week or month, from `hour` o'clock in the
/// business calendar's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub every: Every,
    #[serde(default = "nine")]
    #[schema(maximum = 23)]
    pub hour: u8,
}

fn nine() -> u8 {
    9
}

impl Schedule {
    /// The slot local time `now` falls in: its name keys the runs, so
    /// each customer runs once per slot. A slot begins at `hour` on its
    /// first day (a Monday, or the first of the month).
    pub fn slot(&self, now: chrono::NaiveDateTime) -> String {
        use chrono::Timelike;
        let mut start = self.first_day(now.date());
        if start == now.date() && now.hour() < u32::from(self.hour) {
            start = self.first_day(start - chrono::Duration::days(1));
        }
        format!("{}:{start}", self.every)
    }

    fn first_day(&self, day: chrono::NaiveDate) -> chrono::NaiveDate {
        use chrono::Datelike;
        match self.every {
            Every::Day => day,
            Every::Week => {
                day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
            }
            Every::Month => day.with_day(1).expect("every month has a first"),
        }
    }
}

/// What a condition reads, by name: `score`, `rating`, `sentiment`,
/// `topic`, `source`, `category`, `previous_category`, `locale`,
/// `insider`, `open_task`, `days_since_contact`, `consent.PURPOSE` or
/// `attributes.KEY`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Score,
    Rating,
    Sentiment,
    Topic,
    Source,
    Category,
    PreviousCategory,
    Locale,
    Insider,
    OpenTask,
    DaysSinceContact,
    Consent(Purpose),
    Attribute(String),
}

impl Field {
    pub fn name(&self) -> String {
        match self {
            Field::Score => "score".into(),
            Field::Rating => "rating".into(),
            Field::Sentiment => "sentiment".into(),
            Field::Topic => "topic".into(),
            Field::Source => "source".into(),
            Field::Category => "category".into(),
            Field::PreviousCategory => "previous_category".into(),
            Field::Locale => "locale".into(),
            Field::Insider => "insider".into(),
            Field::OpenTask => "open_task".into(),
            Field::DaysSinceContact => "days_since_contact".into(),
            Field::Consent(p) => format!("consent.{p}"),
            Field::Attribute(k) => format!("attributes.{k}"),
        }
    }

    /// Whether the field is how happy the customer is (R1 and R2).
    pub fn reads_satisfaction(&self) -> bool {
        matches!(
            self,
            Field::Score
                | Field::Rating
                | Field::Sentiment
                | Field::Category
                | Field::PreviousCategory
        )
    }
}

impl std::str::FromStr for Field {
    type Err = String;
    fn from_str(s: &str) -> Result<Field, String> {
        Ok(match s {
            "score" => Field::Score,
            "rating" => Field::Rating,
            "sentiment" => Field::Sentiment,
            "topic" => Field::Topic,
            "source" => Field::Source,
            "category" => Field::Category,
            "previous_category" => Field::PreviousCategory,
            "locale" => Field::Locale,
            "insider" => Field::Insider,
            "open_task" => Field::OpenTask,
            "days_since_contact" => Field::DaysSinceContact,
            other => {
                if let Some(p) = other.strip_prefix("consent.") {
                    Field::Consent(p.parse().map_err(|e: crate::DomainError| e.to_string())?)
                } else if let Some(k) = other.strip_prefix("attributes.").filter(|k| !k.is_empty())
                {
                    Field::Attribute(k.to_owned())
                } else {
                    return Err(format!(
                        "unknown field {other:?} (expected score, rating, sentiment, topic, source, category, previous_category, locale, insider, open_task, days_since_contact, consent.PURPOSE or attributes.KEY)"
                    ));
                }
            }
        })
    }
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Field {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "score, rating, sentiment, topic, source, category, previous_category, locale, insider, open_task, days_since_contact, consent.PURPOSE or attributes.KEY",
            ))
            .into()
    }
}
impl utoipa::ToSchema for Field {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Op {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    /// The value is a list; the field equals one of it (for `topic`: one
    /// of the item's topics is in it).
    #[serde(rename = "in")]
    In,
}

/// A condition's value: a number, a yes/no, a word or a list of words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(t) => write!(f, "{t:?}"),
            Value::List(l) => write!(f, "{l:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    pub value: Value,
}

/// Which customers at a touchpoint a review request goes to. Never who is
/// happy (R1): everyone, every Nth, or a random share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    #[default]
    Everyone,
    EveryNth(u32),
    RandomPercent(u8),
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Opens a task; the team comes from `team`, else the routing rules.
    CreateTask {
        #[serde(rename = "type")]
        task_type: TaskType,
        #[serde(default = "normal")]
        priority: Priority,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// The SLA policy's name (`close_loop` by default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sla: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Sends the triggering feedback to the team its topics name
    /// (`routes`: topic → team), else `default_team`.
    RouteFeedback {
        #[serde(default)]
        routes: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_team: Option<String>,
    },
    /// Emails the customer: `subject` and `body` are MiniJinja templates.
    SendEmail {
        purpose: Purpose,
        subject: String,
        body: String,
    },
    RequestReview {
        platform: ReviewPlatform,
        url: String,
        #[serde(default)]
        audience: Audience,
        /// The request's words; the linter (R5) reads them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// What the customer gets for reviewing, whatever the rating.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incentive: Option<String>,
        /// Says the incentive, or that the customer is an insider.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disclosure: Option<String>,
    },
    InviteToProgram {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    AskForReferral {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// A marketing offer, one variant per run at random (by the run's
    /// seed): the passive path's incentive experiment.
    OfferIncentive {
        variants: Vec<Offer>,
    },
    /// Points in the advocate program, when the customer is a member
    /// (keyed by run and step, so a retry awards once).
    AwardPoints {
        points: i64,
        reason: String,
    },
    Tag {
        tag: String,
    },
    Untag {
        tag: String,
    },
    /// Tells staff: posts `text` to a Slack-compatible incoming webhook
    /// (`url`), or mails it to a staff account (`email`) or to every
    /// member of a team (`team`); exactly one of the three.
    Notify {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
        text: String,
    },
    /// Posts the triggering event to `url`.
    CallWebhook {
        url: String,
    },
    /// Waits up to `hours`; with `until`, the next step runs as soon as
    /// such an event about the customer arrives (a timeout otherwise).
    Wait {
        #[schema(maximum = 8760)]
        hours: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<EventKind>,
    },
}

/// One variant of an offer: its name (reported) and its message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    pub name: String,
    pub subject: String,
    pub body: String,
}

/// Which of `n` variants a run with `seed` gets (a third draw from it).
pub fn variant_of(seed: u64, n: usize) -> usize {
    (mix(seed ^ 0x2545_f491_4f6c_dd1d) % (n.max(1) as u64)) as usize
}

fn normal() -> Priority {
    Priority::Normal
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::CreateTask { .. } => "create_task",
            Action::RouteFeedback { .. } => "route_feedback",
            Action::SendEmail { .. } => "send_email",
            Action::RequestReview { .. } => "request_review",
            Action::InviteToProgram { .. } => "invite_to_program",
            Action::AskForReferral { .. } => "ask_for_referral",
            Action::OfferIncentive { .. } => "offer_incentive",
            Action::AwardPoints { .. } => "award_points",
            Action::Tag { .. } => "tag",
            Action::Untag { .. } => "untag",
            Action::Notify { .. } => "notify",
            Action::CallWebhook { .. } => "call_webhook",
            Action::Wait { .. } => "wait",
        }
    }

    /// The purpose of the email the action sends, if it sends one.
    pub fn purpose(&self) -> Option<Purpose> {
        match self {
            Action::SendEmail { purpose, .. } => Some(*purpose),
            Action::OfferIncentive { .. } => Some(Purpose::Marketing),
            Action::RequestReview { .. } | Action::InviteToProgram { .. } => {
                Some(Purpose::Advocacy)
            }
            Action::AskForReferral { .. } => Some(Purpose::Referral),
            _ => None,
        }
    }

    fn is_incentive(&self) -> bool {
        matches!(
            self,
            Action::AwardPoints { .. }
                | Action::RequestReview {
                    incentive: Some(_),
                    ..
                }
        )
    }
}

/// One step: its action, after `delay_minutes` from the step before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    #[serde(flatten)]
    pub action: Action,
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schema(maximum = 525600)]
    pub delay_minutes: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The default share of customers a playbook holds out.
pub const DEFAULT_HOLDOUT_PERCENT: u8 = 10;

/// A playbook as written: what a page or `POST /api/v1/playbooks` sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookSpec {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: Trigger,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub conditions: Vec<Condition>,
    #[schema(min_items = 1, max_items = 20)]
    pub steps: Vec<Step>,
    /// The share of triggered customers who get no actions (0–50).
    #[serde(default = "default_holdout")]
    #[schema(maximum = 50)]
    pub holdout_percent: u8,
    /// Held-out customers still get the steps before this one (the
    /// detractor path hears everyone: its task is step 0, held out from 1).
    #[serde(default)]
    #[schema(maximum = 20)]
    pub holdout_from_step: usize,
}

fn yes() -> bool {
    true
}

fn default_holdout() -> u8 {
    DEFAULT_HOLDOUT_PERCENT
}

/// The most steps and conditions one playbook has.
pub const MAX_STEPS: usize = 20;

impl PlaybookSpec {
    /// Shape errors (before the compliance guard): field and reason.
    pub fn check_shape(&self) -> Result<(), (&'static str, String)> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(("name", "a name of 1 to 200 characters is needed".into()));
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(("steps", format!("1 to {MAX_STEPS} steps are needed")));
        }
        if self.conditions.len() > MAX_STEPS {
            return Err((
                "conditions",
                format!("at most {MAX_STEPS} conditions are allowed"),
            ));
        }
        if self.holdout_percent > 50 {
            return Err(("holdout_percent", "at most 50 percent".into()));
        }
        if self.holdout_from_step > self.steps.len() {
            return Err(("holdout_from_step", "past the last step".into()));
        }
        if self.trigger.event.is_some() == self.trigger.schedule.is_some() {
            return Err((
                "trigger",
                "a trigger is an event or a schedule, one of them".into(),
            ));
        }
        if self.trigger.schedule.is_some_and(|s| s.hour > 23) {
            return Err(("trigger", "a schedule's hour is 0 to 23".into()));
        }
        if (self.trigger.from.is_some() || self.trigger.to.is_some())
            && self.trigger.event != Some(EventKind::CustomerCategoryChanged)
        {
            return Err((
                "trigger",
                "from and to go with customer.category_changed only".into(),
            ));
        }
        for step in &self.steps {
            if step.delay_minutes > 525_600
                || matches!(step.action, Action::Wait { hours, .. } if hours > 8_760)
                || matches!(step.action, Action::RequestReview { audience: Audience::EveryNth(n), .. } if n > 10_000)
            {
                return Err((
                    "steps",
                    "delays and waits are at most a year, every_nth at most 10000".into(),
                ));
            }
            if let Action::OfferIncentive { variants } = &step.action
                && !(1..=5).contains(&variants.len())
            {
                return Err(("steps", "an offer has 1 to 5 variants".into()));
            }
            if let Action::Notify {
                url, email, team, ..
            } = &step.action
            {
                let targets = [url.is_some(), email.is_some(), team.is_some()];
                if targets.iter().filter(|t| **t).count() != 1 {
                    return Err(("steps", "notify goes to one of url, email or team".into()));
                }
                if email.as_ref().is_some_and(|e| !e.contains('@')) {
                    return Err(("steps", "notify's email is not an address".into()));
                }
            }
            if let Action::RequestReview { url, .. }
            | Action::Notify { url: Some(url), .. }
            | Action::CallWebhook { url } = &step.action
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(("steps", format!("{url:?} is not an http(s) address")));
            }
            if let Action::RequestReview {
                audience: Audience::EveryNth(0),
                ..
            }
            | Action::RequestReview {
                audience: Audience::RandomPercent(0 | 101..),
                ..
            } = &step.action
            {
                return Err(("steps", "every_nth ≥ 1, random_percent 1–100".into()));
            }
        }
        Ok(())
    }
}

named_enum! {
    /// The compliance rules (docs/COMPLIANCE.md says where each comes from).
    pub enum Rule as "compliance rule" {
        /// No review gating.
        R1 = "R1",
        /// No incentive tied to sentiment.
        R2 = "R2",
        /// No incentive where the platform forbids it; a disclosure elsewhere.
        R3 = "R3",
        /// Insiders are left out of review requests, or disclosed.
        R4 = "R4",
        /// Review-request copy may not ask for a good review.
        R5 = "R5",
        /// Marketing-type messages need consent or a soft opt-in.
        R6 = "R6",
    }
}

/// A compliance denial: the rule, the step it concerns, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Denial {
    pub rule: Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

/// Phrases a review request may not use (R5), diacritics folded, lower case.
const GATING_PHRASES: &[&str] = &[
    "5 star",
    "five star",
    "5-star",
    "five-star",
    "positive review",
    "good review",
    "great review",
    "if you were happy",
    "if you are happy",
    "if you're happy",
    "if you were satisfied",
    "if you are satisfied",
    "otherwise contact us",
    "if not, contact us",
    "5 stele",
    "cinci stele",
    "recenzie pozitiva",
    "recenzie buna",
    "daca ati fost multumit",
    "daca sunteti multumit",
    "daca ai fost multumit",
    "daca esti multumit",
    "altfel contactati-ne",
    "altfel contacteaza-ne",
];

/// Lower case with Romanian diacritics (both cedilla and comma forms)
/// folded, so "Recenzie pozitivă" and "recenzie pozitiva" match alike.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'ă' | 'â' => 'a',
            'î' => 'i',
            'ș' | 'ş' => 's',
            'ț' | 'ţ' => 't',
            '’' => '\'',
            other => other,
        })
        .collect()
}

/// R5 on one text: the first phrase that asks for a good review.
pub fn gating_phrase(text: &str) -> Option<&'static str> {
    let folded = fold(text);
    GATING_PHRASES.iter().copied().find(|p| folded.contains(p))
}

/// The guard at save time: every rule a playbook breaks, as written.
pub fn check_playbook(spec: &PlaybookSpec) -> Vec<Denial> {
    let mut denials = Vec::new();
    let satisfaction_condition = spec
        .conditions
        .iter()
        .find(|c| c.field.reads_satisfaction())
        .map(|c| c.field.name())
        .or_else(|| {
            spec.trigger
                .reads_category()
                .then(|| "the trigger's category".to_owned())
        });
    let asks_for_review = spec
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::RequestReview { .. }));
    let about_a_review = asks_for_review
        || matches!(
            spec.trigger.event,
            Some(EventKind::FeedbackCreated | EventKind::FeedbackUpdated)
        );
    for (i, step) in spec.steps.iter().enumerate() {
        let deny = |rule, message: String| Denial {
            rule,
            step: Some(i),
            message,
        };
        if let (Action::RequestReview { .. }, Some(field)) = (&step.action, &satisfaction_condition)
        {
            denials.push(deny(
                Rule::R1,
                format!(
                    "a review request may not depend on {field}: ask everyone at this touchpoint, every Nth customer or a random share"
                ),
            ));
        }
        if step.action.is_incentive()
            && about_a_review
            && let Some(field) = &satisfaction_condition
        {
            denials.push(deny(
                Rule::R2,
                format!(
                    "an incentive for a review may depend only on a verified submission, not on {field}"
                ),
            ));
        }
        match &step.action {
            Action::RequestReview {
                platform,
                incentive: Some(_),
                disclosure,
                ..
            } => {
                if platform.forbids_incentives() {
                    denials.push(deny(
                        Rule::R3,
                        format!("{platform} forbids incentives for reviews"),
                    ));
                } else if disclosure.as_deref().is_none_or(|d| d.trim().is_empty()) {
                    denials.push(deny(
                        Rule::R3,
                        "an incentive for a review needs a disclosure in the message".into(),
                    ));
                }
            }
            Action::AwardPoints { .. } => {
                let forbidding = spec.steps.iter().find_map(|s| match s.action {
                    Action::RequestReview { platform, .. } if platform.forbids_incentives() => {
                        Some(platform)
                    }
                    _ => None,
                });
                if let Some(platform) = forbidding {
                    denials.push(deny(
                        Rule::R3,
                        format!("points in a path that asks for a {platform} review: {platform} forbids incentives"),
                    ));
                }
            }
            _ => {}
        }
        if let Action::RequestReview {
            message: Some(m), ..
        } = &step.action
            && let Some(phrase) = gating_phrase(m)
        {
            denials.push(deny(
                Rule::R5,
                format!("the request asks for a good review ({phrase:?}); ask for an honest one"),
            ));
        }
    }
    denials
}

/// What is known when a run decides: the customer, and the event's signal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub category: Option<LoyaltyCategory>,
    pub previous_category: Option<LoyaltyCategory>,
    pub score: Option<u8>,
    pub rating: Option<u8>,
    pub sentiment: Option<f64>,
    pub topics: Vec<String>,
    pub source: Option<String>,
    pub locale: Option<String>,
    pub insider: bool,
    pub open_task: bool,
    pub days_since_contact: Option<i64>,
    /// Purposes the customer may be written to for (consent or soft opt-in).
    pub consents: Vec<Purpose>,
    pub attributes: BTreeMap<String, String>,
}

/// One condition as checked: what it asked, what was there, and whether
/// it held. The run log keeps these.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ConditionCheck {
    pub condition: String,
    pub actual: Option<String>,
    pub matched: bool,
}

enum Actual {
    Number(f64),
    Text(String),
    Texts(Vec<String>),
    Bool(bool),
}

impl Facts {
    fn actual(&self, field: &Field) -> Option<Actual> {
        Some(match field {
            Field::Score => Actual::Number(f64::from(self.score?)),
            Field::Rating => Actual::Number(f64::from(self.rating?)),
            Field::Sentiment => Actual::Number(self.sentiment?),
            Field::Topic => Actual::Texts(self.topics.clone()),
            Field::Source => Actual::Text(self.source.clone()?),
            Field::Category => Actual::Text(self.category?.as_str().to_owned()),
            Field::PreviousCategory => Actual::Text(self.previous_category?.as_str().to_owned()),
            Field::Locale => Actual::Text(self.locale.clone()?),
            Field::Insider => Actual::Bool(self.insider),
            Field::OpenTask => Actual::Bool(self.open_task),
            Field::DaysSinceContact => Actual::Number(self.days_since_contact? as f64),
            Field::Consent(p) => Actual::Bool(self.consents.contains(p)),
            Field::Attribute(k) => {
                let v = self.attributes.get(k)?;
                match v.parse::<f64>() {
                    Ok(n) => Actual::Number(n),
                    Err(_) => Actual::Text(v.clone()),
                }
            }
        })
    }

    /// Checks every condition; a run goes on only if all matched.
    pub fn check(&self, conditions: &[Condition]) -> Vec<ConditionCheck> {
        conditions
            .iter()
            .map(|c| {
                let actual = self.actual(&c.field);
                ConditionCheck {
                    condition: format!("{} {} {}", c.field.name(), op_text(c.op), c.value),
                    actual: actual.as_ref().map(|a| match a {
                        Actual::Number(n) => n.to_string(),
                        Actual::Text(t) => t.clone(),
                        Actual::Texts(t) => t.join(", "),
                        Actual::Bool(b) => b.to_string(),
                    }),
                    matched: actual.is_some_and(|a| holds(&a, c.op, &c.value)),
                }
            })
            .collect()
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::In => "in",
    }
}

fn holds(actual: &Actual, op: Op, value: &Value) -> bool {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match (actual, value) {
        (Actual::Number(a), Value::Number(b)) => match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::In => false,
        },
        (Actual::Bool(a), Value::Bool(b)) => match op {
            Op::Eq => a == b,
            Op::Ne => a != b,
            _ => false,
        },
        (Actual::Text(a), Value::Text(b)) => match op {
            Op::Eq => same(a, b),
            Op::Ne => !same(a, b),
            _ => false,
        },
        (Actual::Text(a), Value::List(list)) => match op {
            Op::In => list.iter().any(|b| same(a, b)),
            Op::Ne => !list.iter().any(|b| same(a, b)),
            _ => false,
        },
        (Actual::Texts(topics), Value::Text(b)) => match op {
            Op::Eq | Op::In => topics.iter().any(|t| same(t, b)),
            Op::Ne => !topics.iter().any(|t| same(t, b)),
            _ => false,
        },
        (Actual::Texts(topics), Value::List(list)) => match op {
            Op::In | Op::Eq => topics.iter().any(|t| list.iter().any(|b| same(t, b))),
            Op::Ne => !topics.iter().any(|t| list.iter().any(|b| same(t, b))),
            _ => false,
        },
        _ => false,
    }
}

/// The guard when a step runs, for what only the customer shows: R4
/// (insiders) and R6 (consent for marketing-type messages).
pub fn check_step(action: &Action, facts: &Facts) -> Result<(), Denial> {
    let deny = |rule, message: &str| {
        Err(Denial {
            rule,
            step: None,
            message: message.to_owned(),
        })
    };
    if let Action::RequestReview { disclosure, .. } = action
        && facts.insider
        && disclosure.as_deref().is_none_or(|d| d.trim().is_empty())
    {
        return deny(
            Rule::R4,
            "the customer is an insider: no review request without a disclosure",
        );
    }
    if let Some(purpose) = action.purpose()
        && matches!(
            purpose,
            Purpose::Marketing | Purpose::Referral | Purpose::Advocacy
        )
        && !facts.consents.contains(&purpose)
    {
        return Err(Denial {
            rule: Rule::R6,
            step: None,
            message: format!("no consent or soft opt-in for {purpose}"),
        });
    }
    Ok(())
}

/// The key that makes a run happen once: playbook, version, subject and
/// triggering event.
pub fn run_key(playbook: i64, version: i64, subject: &str, event_id: &str) -> String {
    format!("{playbook}:{version}:{subject}:{event_id}")
}

/// The seed of a run's random choices: from its key, so it is recorded and
/// repeatable, and unrelated between runs.
pub fn run_seed(key: &str) -> u64 {
    mix(crate::stable_hash([key]))
}

/// Whether a run with `seed` is held out of a playbook holding out `percent`.
pub fn held_out(seed: u64, percent: u8) -> bool {
    seed % 100 < u64::from(percent)
}

/// Whether a review request with `audience` goes to this run: the Nth by
/// `ordinal` (the playbook's runs so far), or a random share by `seed`.
/// Never by anything the customer said (R1).
pub fn in_audience(audience: Audience, ordinal: u64, seed: u64) -> bool {
    match audience {
        Audience::Everyone => true,
        Audience::EveryNth(n) => ordinal.is_multiple_of(u64::from(n.max(1))),
        // A second draw from the seed, independent of the hold-out's.
        Audience::RandomPercent(p) => mix(seed ^ 0x5bd1_e995) % 100 < u64::from(p),
    }
}

/// SplitMix64's finaliser: spreads a hash's bits so `% 100` is uniform.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

named_enum! {
    /// Where a task is in its life.
    pub enum TaskState as "task state" {
        Open = "open",
        InProgress = "in_progress",
        Snoozed = "snoozed",
        Closed = "closed",
    }
}

impl TaskState {
    /// Moves staff may make: any open state to another; closed reopens.
    pub fn can_become(self, next: TaskState) -> bool {
        self != next && (self != TaskState::Closed || next == TaskState::Open)
    }
}

named_enum! {
    /// How a closed task ended.
    pub enum Resolution as "resolution" {
        /// The customer was reached and the issue fixed.
        Resolved = "resolved",
        /// The customer was reached; nothing could be fixed.
        Acknowledged = "acknowledged",
        /// No answer from the customer.
        Unreachable = "unreachable",
        /// Not a real issue (spam, duplicate).
        Invalid = "invalid",
    }
}

#[cfg(test)]
mod tests;
