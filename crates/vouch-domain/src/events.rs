//! What happens in Vouch that other systems may subscribe to (webhooks), and
//! the states of the background jobs that deliver it.

use crate::names::named_enum;

named_enum! {
    /// An event a webhook can subscribe to.
    pub enum EventKind as "event" {
        /// A survey answer was recorded.
        ResponseCreated = "response.created",
        /// A feedback item arrived (pushed through the API).
        FeedbackCreated = "feedback.created",
        /// A customer moved between promoter, passive and detractor.
        CustomerCategoryChanged = "customer.category_changed",
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
