//! What happens to customers, as events in one outbox: each is written in
//! the transaction of the change that caused it, and consumers (webhooks,
//! later playbooks and the program) read them in order with cursors of
//! their own. Also the states of the background jobs that act on them.

use serde::Serialize;

use crate::names::named_enum;
use crate::{
    CategoryAssignment, Customer, CustomerId, FeedbackId, FeedbackItem, LoyaltyCategory, Response,
    ResponseId, SurveyId,
};

named_enum! {
    /// The kinds of event in the outbox; a webhook subscribes to some.
    pub enum EventKind as "event" {
        /// A survey answer was recorded (survey page, API, import, demo).
        ResponseCreated = "response.created",
        /// An answer's score or comment was changed.
        ResponseUpdated = "response.updated",
        /// A feedback item arrived: a review, mention, ticket or survey comment.
        FeedbackCreated = "feedback.created",
        /// A feedback item's text, rating or author changed (a re-import).
        FeedbackUpdated = "feedback.updated",
        CustomerCreated = "customer.created",
        CustomerUpdated = "customer.updated",
        /// A customer was erased (GDPR); the event carries only the id.
        CustomerErased = "customer.erased",
        /// A customer moved between promoter, passive and detractor.
        CustomerCategoryChanged = "customer.category_changed",
        /// A survey invitation or reminder was handed to the mail server.
        InvitationSent = "invitation.sent",
        /// The mail server refused an invitation's address for good.
        InvitationBounced = "invitation.bounced",
        /// A customer gave or withdrew consent (an unsubscribe, say).
        ConsentChanged = "consent.changed",
        /// A close-the-loop (or other) task was opened.
        TaskCreated = "task.created",
        /// A task was closed, with its resolution.
        TaskClosed = "task.closed",
        /// A task passed its resolution target.
        TaskOverdue = "task.overdue",
        /// A task passed its first-response target unanswered; its priority rose.
        TaskEscalated = "task.escalated",
        /// A customer joined the advocate program.
        MemberJoined = "program.member_joined",
        /// A member was paused, left, was banned or came back.
        MemberChanged = "program.member_changed",
        /// A points ledger entry was written (earned, held, redeemed, reversed…).
        PointsChanged = "program.points_changed",
        /// A reward was requested, or its redemption moved on.
        RedemptionChanged = "program.redemption_changed",
        /// A referred friend converted (with the fraud checks' verdict).
        ReferralConverted = "referral.converted",
        /// A referral was approved, reversed (a refund) or decided in review.
        ReferralChanged = "referral.changed",
        /// A member earned a badge (by hand, by count or by points).
        BadgeAwarded = "program.badge_awarded",
        /// Staff recognised a member, publicly or privately.
        MemberRecognized = "program.recognized",
        /// Staff worked a feedback item: assigned, handled, tagged or noted.
        FeedbackTriaged = "feedback.triaged",
        /// A goal's check-in found it behind: at risk or off track.
        GoalAtRisk = "goal.at_risk",
        /// A goal's interval cleared its target.
        GoalAchieved = "goal.achieved",
        /// A goal's deadline passed without its interval clearing the target.
        GoalMissed = "goal.missed",
    }
}

/// The version of every event body below; a consumer reads `version` and
/// may refuse one it does not know. Adding a field keeps the version;
/// renaming or removing one bumps it.
pub const EVENT_VERSION: i32 = 1;

/// A change, with what a consumer needs to act on it. Serialised as the
/// event's `data`. An answer's or a feedback item's event names the record;
/// the outbox attaches the record itself when the event is read, so an
/// import of a million reviews does not write every text twice (and an
/// erased or purged record is not kept alive in the outbox).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DomainEvent {
    ResponseCreated(RecordRef<ResponseId>),
    ResponseUpdated(RecordRef<ResponseId>),
    FeedbackCreated(RecordRef<FeedbackId>),
    FeedbackUpdated(RecordRef<FeedbackId>),
    CustomerCreated(Customer),
    /// What changed, by name (`profile`, `attributes.plan`, `referred_by`);
    /// the customer itself is one `GET /api/v1/customers/{id}` away.
    CustomerUpdated {
        customer_id: CustomerId,
        changed: Vec<String>,
    },
    CustomerErased {
        customer_id: CustomerId,
    },
    CustomerCategoryChanged(CategoryMove),
    InvitationSent {
        invitation_id: i64,
        survey_id: SurveyId,
        customer_id: CustomerId,
        reminder: bool,
    },
    InvitationBounced {
        invitation_id: i64,
        customer_id: CustomerId,
        reason: String,
    },
    ConsentChanged {
        customer_id: CustomerId,
        purpose: String,
        granted: bool,
        source: String,
    },
    TaskCreated {
        task_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        task_type: String,
        team: Option<String>,
        due_at: chrono::DateTime<chrono::Utc>,
    },
    TaskClosed {
        task_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        resolution: String,
        in_sla: bool,
    },
    TaskOverdue {
        task_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        due_at: chrono::DateTime<chrono::Utc>,
    },
    TaskEscalated {
        task_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        first_response_due: chrono::DateTime<chrono::Utc>,
    },
    MemberJoined {
        member_id: i64,
        customer_id: CustomerId,
        joined_by: String,
        trusted: bool,
    },
    MemberChanged {
        member_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        status: String,
    },
    PointsChanged {
        member_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        entry_id: i64,
        kind: String,
        amount: i64,
        reason: String,
    },
    RedemptionChanged {
        redemption_id: i64,
        member_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        reward_id: i64,
        state: String,
    },
    ReferralConverted {
        referral_id: i64,
        member_id: i64,
        /// The advocate.
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        status: String,
        value_cents: i64,
        currency: String,
    },
    ReferralChanged {
        referral_id: i64,
        member_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        status: String,
    },
    BadgeAwarded {
        member_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        badge_id: i64,
        badge: String,
    },
    MemberRecognized {
        recognition_id: i64,
        member_id: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        public: bool,
    },
    /// What changed, by name: `assignee`, `handled`, `tags`, `notes`.
    FeedbackTriaged {
        feedback_id: FeedbackId,
        #[serde(skip_serializing_if = "Option::is_none")]
        customer_id: Option<CustomerId>,
        changed: Vec<String>,
    },
    GoalAtRisk(GoalProgress),
    GoalAchieved(GoalProgress),
    GoalMissed(GoalProgress),
}

/// A goal's check-in, as its events carry it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalProgress {
    pub goal_id: i64,
    pub kpi: crate::goals::GoalKpi,
    /// `at_risk`, `off_track`, `achieved` or `missed`.
    pub status: crate::goals::GoalStatus,
    pub current: Option<crate::goals::Measurement>,
    pub target: f64,
    pub deadline: chrono::NaiveDate,
    pub owner: String,
}

impl GoalProgress {
    /// The event for a check-in that moved the goal to `status`, if that
    /// move is one consumers hear of (at risk, off track, achieved, missed).
    pub fn event(self) -> Option<DomainEvent> {
        use crate::goals::GoalStatus::*;
        match self.status {
            AtRisk | OffTrack => Some(DomainEvent::GoalAtRisk(self)),
            Achieved => Some(DomainEvent::GoalAchieved(self)),
            Missed => Some(DomainEvent::GoalMissed(self)),
            OnTrack => None,
        }
    }
}

impl DomainEvent {
    pub fn kind(&self) -> EventKind {
        match self {
            DomainEvent::ResponseCreated(_) => EventKind::ResponseCreated,
            DomainEvent::ResponseUpdated(_) => EventKind::ResponseUpdated,
            DomainEvent::FeedbackCreated(_) => EventKind::FeedbackCreated,
            DomainEvent::FeedbackUpdated(_) => EventKind::FeedbackUpdated,
            DomainEvent::CustomerCreated(_) => EventKind::CustomerCreated,
            DomainEvent::CustomerUpdated { .. } => EventKind::CustomerUpdated,
            DomainEvent::CustomerErased { .. } => EventKind::CustomerErased,
            DomainEvent::CustomerCategoryChanged(_) => EventKind::CustomerCategoryChanged,
            DomainEvent::InvitationSent { .. } => EventKind::InvitationSent,
            DomainEvent::InvitationBounced { .. } => EventKind::InvitationBounced,
            DomainEvent::ConsentChanged { .. } => EventKind::ConsentChanged,
            DomainEvent::TaskCreated { .. } => EventKind::TaskCreated,
            DomainEvent::TaskClosed { .. } => EventKind::TaskClosed,
            DomainEvent::TaskOverdue { .. } => EventKind::TaskOverdue,
            DomainEvent::TaskEscalated { .. } => EventKind::TaskEscalated,
            DomainEvent::MemberJoined { .. } => EventKind::MemberJoined,
            DomainEvent::MemberChanged { .. } => EventKind::MemberChanged,
            DomainEvent::PointsChanged { .. } => EventKind::PointsChanged,
            DomainEvent::RedemptionChanged { .. } => EventKind::RedemptionChanged,
            DomainEvent::ReferralConverted { .. } => EventKind::ReferralConverted,
            DomainEvent::ReferralChanged { .. } => EventKind::ReferralChanged,
            DomainEvent::BadgeAwarded { .. } => EventKind::BadgeAwarded,
            DomainEvent::MemberRecognized { .. } => EventKind::MemberRecognized,
            DomainEvent::FeedbackTriaged { .. } => EventKind::FeedbackTriaged,
            DomainEvent::GoalAtRisk(_) => EventKind::GoalAtRisk,
            DomainEvent::GoalAchieved(_) => EventKind::GoalAchieved,
            DomainEvent::GoalMissed(_) => EventKind::GoalMissed,
        }
    }

    /// The customer the event is about, when there is one (anonymous
    /// feedback has none).
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self {
            DomainEvent::ResponseCreated(r) | DomainEvent::ResponseUpdated(r) => r.customer_id,
            DomainEvent::FeedbackCreated(f) | DomainEvent::FeedbackUpdated(f) => f.customer_id,
            DomainEvent::CustomerCreated(c) => Some(c.id),
            DomainEvent::CustomerErased { customer_id }
            | DomainEvent::CustomerUpdated { customer_id, .. }
            | DomainEvent::InvitationSent { customer_id, .. }
            | DomainEvent::InvitationBounced { customer_id, .. }
            | DomainEvent::ConsentChanged { customer_id, .. } => Some(*customer_id),
            DomainEvent::CustomerCategoryChanged(c) => Some(c.customer_id),
            DomainEvent::TaskCreated { customer_id, .. }
            | DomainEvent::TaskClosed { customer_id, .. }
            | DomainEvent::TaskOverdue { customer_id, .. }
            | DomainEvent::TaskEscalated { customer_id, .. }
            | DomainEvent::MemberChanged { customer_id, .. }
            | DomainEvent::PointsChanged { customer_id, .. }
            | DomainEvent::RedemptionChanged { customer_id, .. }
            | DomainEvent::ReferralConverted { customer_id, .. }
            | DomainEvent::ReferralChanged { customer_id, .. }
            | DomainEvent::BadgeAwarded { customer_id, .. }
            | DomainEvent::MemberRecognized { customer_id, .. }
            | DomainEvent::FeedbackTriaged { customer_id, .. } => *customer_id,
            DomainEvent::MemberJoined { customer_id, .. } => Some(*customer_id),
            DomainEvent::GoalAtRisk(_)
            | DomainEvent::GoalAchieved(_)
            | DomainEvent::GoalMissed(_) => None,
        }
    }
}

/// The answer or feedback item an event is about, and its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RecordRef<Id> {
    pub id: Id,
    #[serde(skip)]
    pub customer_id: Option<CustomerId>,
}

impl DomainEvent {
    pub fn response_created(response: &Response) -> DomainEvent {
        DomainEvent::ResponseCreated(RecordRef {
            id: response.id,
            customer_id: response.answer.customer_id,
        })
    }

    pub fn response_updated(response: &Response) -> DomainEvent {
        DomainEvent::ResponseUpdated(RecordRef {
            id: response.id,
            customer_id: response.answer.customer_id,
        })
    }

    pub fn feedback_created(item: &FeedbackItem) -> DomainEvent {
        DomainEvent::FeedbackCreated(RecordRef {
            id: item.id,
            customer_id: item.feedback.customer_id,
        })
    }

    pub fn feedback_updated(item: &FeedbackItem) -> DomainEvent {
        DomainEvent::FeedbackUpdated(RecordRef {
            id: item.id,
            customer_id: item.feedback.customer_id,
        })
    }
}

/// A customer's category before and after a write, and the signal written
/// that moved it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CategoryMove {
    pub customer_id: CustomerId,
    pub from: Option<LoyaltyCategory>,
    pub to: Option<LoyaltyCategory>,
    /// What the new category rests on (none when the customer has no
    /// signal left in the window).
    pub assignment: Option<CategoryAssignment>,
    /// The answer or review whose writing caused the change.
    pub signal: ChangeSignal,
}

/// The record whose write moved a customer's category.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum ChangeSignal {
    Response(ResponseId),
    Feedback(FeedbackId),
}

/// `customer.category_changed` for each customer whose category differs
/// between `before` and `after` (both as of the write).
pub fn category_changes(
    before: &std::collections::BTreeMap<CustomerId, Option<CategoryAssignment>>,
    after: &std::collections::BTreeMap<CustomerId, (Option<CategoryAssignment>, ChangeSignal)>,
) -> Vec<DomainEvent> {
    after
        .iter()
        .filter_map(|(customer, (assignment, signal))| {
            let from = before.get(customer).copied().flatten().map(|a| a.category);
            let to = assignment.map(|a| a.category);
            (from != to).then_some(DomainEvent::CustomerCategoryChanged(CategoryMove {
                customer_id: *customer,
                from,
                to,
                assignment: *assignment,
                signal: *signal,
            }))
        })
        .collect()
}

named_enum! {
    /// What a background job does; each kind has its own payload type
    /// (`vouch_app::jobs::Task`).
    pub enum JobKind as "job kind" {
        /// Sends one event to one webhook.
        WebhookDelivery = "webhook.deliver",
        /// Mails a survey invitation or its reminder.
        SurveyEmail = "survey.email",
        /// Deletes what the retention policy no longer keeps (hourly).
        RetentionSweep = "retention.sweep",
        /// Runs one step of a playbook run.
        PlaybookStep = "playbook.step",
        /// Mails a playbook's message (a review request, an invitation…).
        PlaybookMessage = "playbook.message",
        /// Posts a playbook's notification or webhook call.
        PlaybookCall = "playbook.call",
        /// Marks overdue and escalated tasks (every few minutes).
        TaskSweep = "tasks.sweep",
        /// Mails a staff reply to a task's customer (a service message).
        TaskReply = "task.reply",
        /// Starts the scheduled playbooks whose slot has come (hourly).
        PlaybookSchedule = "playbooks.schedule",
        /// Pays referrals whose hold has ended and expires old unspent
        /// points (every 15 minutes).
        ProgramSweep = "program.sweep",
        /// Mails a member their portal sign-in link.
        PortalLink = "portal.link",
        /// Mails a customer the link that lets them join the program.
        PortalJoin = "portal.join",
        /// Invites a survey's audience at the time staff chose.
        SurveyRound = "survey.round",
        /// Pulls the connectors whose next sync is due (every 5 minutes).
        SourcesSync = "sources.sync",
        /// Indexes feedback waiting for the inbox's search (after a bulk
        /// import; every minute besides).
        SearchIndex = "search.index",
        /// Measures the goals whose check-in is due (hourly).
        GoalsCheckin = "goals.checkin",
        /// Learns each language's sentiment model once enough rated items
        /// exist, and again when they double (daily).
        TextTrain = "text.train",
        /// Mails the periodic report to the chosen staff once per whole
        /// period (daily check).
        ReportSend = "report.send",
    }
}

named_enum! {
    /// Where a background job is in its life.
    pub enum JobState as "job state" {
        /// Waiting for its run time and a free worker (also between retries).
        Queued = "queued",
        /// Claimed by a worker, which holds it until its lease ends.
        Running = "running",
        Done = "done",
        /// Failed on every attempt; kept for inspection, never retried.
        Dead = "dead",
    }
}
