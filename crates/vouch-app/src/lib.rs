//! Vouch's use cases: each function is one thing a user can ask for, built
//! from the pure domain and the store. The CLI, the API and the dashboard
//! call these, so they always show the same numbers.

pub mod customers;
pub mod demo;
pub mod erasure;
pub mod events;
pub mod goals;
pub mod import;
pub mod inbox;
pub mod jobs;
pub mod limits;
pub mod maturity;
pub mod outreach;
pub mod params;
pub mod periodic;
pub mod playbooks;
pub mod portal;
pub mod program;
pub mod propensity;
pub mod records;
pub mod reports;
pub mod retention;
pub mod search;
pub mod secrets;
pub mod sources;
pub mod surveys;
pub mod templates;
pub mod text;
pub mod totp;

/// What a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] vouch_store::StoreError),
    #[error("{0}")]
    Refused(String),
    /// The change clashes with what is stored (a name taken).
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

pub use params::parse_time;
