//! Reading feedback from the formats companies already have, into the one
//! feedback model. Pure parsing over readers: no database, no tagging.
//!
//! Every source, a file today or a live API tomorrow, is a `FeedbackSource`:
//! an iterator of items or rejections with a cursor saying where it is, so
//! a puller for Trustpilot's or Google's API is one more implementation.

mod formats;
mod source;

pub use formats::Format;
pub use source::{FeedbackSource, FileSource, Rejection};
