//! Vouch's text analytics: pure functions over text, offline and in-process,
//! with no model download and no database. Used by ingestion, surveys and
//! the CLI.
//!
//! - `language`: which language (en, ro, fr, de, es, it), fast path first.
//! - `vader`: English sentiment reproducing vaderSentiment 3.3.2.
//! - `romanian`: Romanian sentiment, the same rules over a lexicon of our own.
//! - `idioms`: customer-service idioms in English and Romanian, for the feedback scorers.
//! - `model`: sentiment learnt from the company's own star ratings.
//! - `topics`: a taxonomy of topics, found by stemmed keywords, with aspect sentiment.
//! - `analyzer`: all of the above for one text, as `vouch text score` prints it.
//! - `eval`: the measurements on ../shared/data behind docs/TEXT.md.

pub mod analyzer;
mod ascii;
pub mod eval;
pub mod idioms;
pub mod language;
pub mod model;
pub mod parallel;
pub mod romanian;
pub mod topics;
pub mod vader;

pub use analyzer::{Analysis, SCORERS, Scorer, TextAnalyzer, TopicSentiment};
pub use language::{LANGUAGES, LanguageIdentifier, known_language};
pub use model::{SentimentModel, Training};
pub use parallel::map_on_all_cores;
pub use romanian::Romanian;
pub use topics::{KeyphraseSuggestion, Taxonomy, TaxonomyError, suggest_keyphrases};
pub use vader::{Polarity, Vader};
