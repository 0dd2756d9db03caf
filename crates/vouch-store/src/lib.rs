//! Vouch's persistence: one `Store` over two backends, SQLite (embedded,
//! the zero-set-up default) and PostgreSQL (production, several instances).
//!
//! The backend is chosen once, from the URL, when the store is opened;
//! everything above this crate is backend-agnostic. Each query is written
//! once and run on whichever pool is open (see `on_backend!`), so the two
//! backends cannot drift apart. Queries are checked at run time, so no
//! database is needed to compile.

mod answer_queue;
mod attempts;
mod audit;
mod batch;
mod codes;
mod customers;
mod error;
pub(crate) mod events;
mod feedback;
mod flows;
mod goals;
mod inbox;
mod invitations;
mod jobs;
mod location;
mod maturity;
mod metrics;
pub(crate) mod outreach;
mod playbooks;
mod program;
mod propensity;
mod retention;
mod rows;
mod sealed;
mod search;
mod sources;
mod staff;
mod store;
mod surveys;
mod tasks;
mod text;

pub use answer_queue::FirstAnswer;
pub use audit::AuditEntry;
pub use codes::JoinCode;
pub use customers::{CustomerFilter, CustomerKey, Erasure, like_literal};
pub use error::StoreError;
pub use events::StoredEvent;
pub use feedback::{COUNT_CAP, FeedbackFilter, FeedbackWriter, UpsertSummary, search_words};
pub use flows::{CustomerFlow, ReviewStats, SocialStats};
pub use goals::{StoredCheckin, StoredGoal};
pub use inbox::{FeedbackNote, SavedView, Triage, TriageChange};
pub use invitations::{Invitation, InvitationCounts, NewInvitation};
pub use jobs::{Delivery, Job, NewJob, Webhook};
pub use location::DatabaseLocation;
pub use maturity::StoredAssessment;
pub use metrics::{ResponseFilter, Segment};
pub use outreach::{Contact, ContactRequest};
pub use playbooks::{LogEntry, NewRun, PlaybookRun, StepEffects, StoredPlaybook};
pub use program::{
    Badge, Challenge, LedgerEntry, LedgerRefusal, Member, NewClick, NewEntry, NewReferral,
    NewReward, NewSubmission, Recognition, Redemption, RedemptionCheck, Referral, ReferralClick,
    ReferralFilter, ReferralLink, Reward, Settlement, Submission,
};
pub use propensity::PropensityRow;
pub use retention::Purged;
pub use sealed::SecretKey;
pub use sources::{NewSource, StoredSource};
pub use staff::{ApiTokenInfo, StaffAccount, StaffUser, UserChange};
pub use store::{Backend, Store};
pub use tasks::{NewTask, TaskChange, TaskFilter, TaskRecord, TaskTimes};
pub use text::{FeedbackAnalysis, FeedbackText, TextTags};
pub use vouch_domain::SentimentLabel;

/// The crate-wide result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
