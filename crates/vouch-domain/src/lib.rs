//! Vouch's domain: the words a CX team uses (customers, surveys, responses,
//! feedback, loyalty categories) as types that can only hold valid values,
//! plus the loyalty analytics built on them.
//!
//! Nothing here does I/O, awaits or knows about a database: data in, data out.

mod access;
mod calendar;
mod customer;
mod error;
mod events;
mod feedback;
pub mod goals;
mod invitations;
mod loyalty;
pub mod maturity;
mod names;
mod outreach;
pub mod password;
pub mod playbooks;
pub mod program;
pub mod propensity;
mod retention;
mod survey;
pub mod text;

pub mod analytics;

pub use access::{Permission, Role};
pub use calendar::{SlaDue, SlaPolicy, SlaSummary, TaskClock, WorkCalendar, sla_summary};
pub use customer::{Customer, CustomerId, CustomerProfile, Email, Locale};
pub use error::DomainError;
pub use events::{
    CategoryMove, ChangeSignal, DomainEvent, EVENT_VERSION, EventKind, GoalProgress, JobKind,
    JobState, RecordRef, category_changes,
};
pub use feedback::{
    Author, Engagement, Feedback, FeedbackId, FeedbackItem, PASSIVE_MIN_RATING,
    PROMOTER_MIN_RATING, Rating, SENTIMENT_THRESHOLD, SentimentLabel, Source, TopicMention,
    stable_hash,
};
pub use invitations::{ContactPolicy, InvitationState, SurveyDesign, SurveyStatus, SurveyTexts};
pub use loyalty::{
    CategoryAssignment, CategoryChange, CategorySignal, DEFAULT_LOOKBACK_DAYS, LoyaltyCategory,
    PASSIVE_MIN_SCORE, PROMOTER_MIN_SCORE, SignalKind, category_at, category_history,
};
pub use outreach::{
    BudgetDecision, ConsentBasis, ConsentRecord, ContactBudget, PastContact, Purpose, PurposeCaps,
    QuietHours, Rate, consent_allows, sender_identity_allows,
};
pub use retention::{RetentionCutoffs, RetentionPolicy};
pub use survey::{Answer, Channel, Response, ResponseId, Score, Survey, SurveyId, SurveyKind};

/// The crate-wide result type.
pub type Result<T, E = DomainError> = std::result::Result<T, E>;
