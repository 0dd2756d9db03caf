use crate::SurveyKind;

/// Why a value could not be built. Each variant names the offending input so
/// that an importer or an API can report it next to the file, line and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("{kind} score {value} is outside {min}..={max}")]
    ScoreOutOfRange {
        kind: SurveyKind,
        value: i64,
        min: u8,
        max: u8,
    },
    #[error("{0:?} is not a valid email address")]
    InvalidEmail(String),
    #[error("{0:?} is not a locale such as \"en\" or \"ro-RO\"")]
    InvalidLocale(String),
    #[error("unknown {what} {value:?} (expected one of: {expected})")]
    UnknownName {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("rating {value} is outside its scale {min}..={max}")]
    RatingOutOfScale { value: f64, min: f64, max: f64 },
    #[error("{what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is {chars} characters long; the limit is {limit}")]
    TooLong {
        field: &'static str,
        chars: usize,
        limit: usize,
    },
}
