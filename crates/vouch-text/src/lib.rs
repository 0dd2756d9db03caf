//! Vouch's text analytics: pure functions over text, offline and in-process,
//! with no model download and no database. Used by ingestion, surveys and
//! the CLI.
//!
//! So far: English sentiment that reproduces vaderSentiment 3.3.2 (`vader`).

pub mod eval;
pub mod language;
pub mod model;
pub mod romanian;
pub mod vader;

pub use language::{LANGUAGES, LanguageIdentifier};
pub use model::{SentimentModel, Training};
pub use romanian::Romanian;
pub use vader::{Polarity, Vader};
