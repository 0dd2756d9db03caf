//! Vouch's use cases: each function is one thing a user can ask for, built
//! from the pure domain and the store. The CLI, the API and the dashboard
//! call these, so they always show the same numbers.

pub mod demo;
pub mod import;
pub mod reports;
pub mod text;

/// What a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] vouch_store::StoreError),
    #[error("{0}")]
    Refused(String),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// A date (`2026-01-31`, midnight UTC) or an RFC 3339 time: how the CLI's
/// options and the API's query parameters give periods.
pub fn parse_time(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| {
            format!("{raw:?} is not a date like 2026-01-31 or a time like 2026-01-31T09:30:00Z")
        })
}
