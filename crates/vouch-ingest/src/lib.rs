//! Reading feedback and survey answers from the formats companies already
//! have, into Vouch's model. Pure parsing over readers: no database, no
//! tagging.
//!
//! Every feedback source, a file today or a live API tomorrow, is a
//! `FeedbackSource`: an iterator of items or rejections with a cursor
//! saying where it is, so a puller for Trustpilot's or Google's API is one
//! more implementation.

mod conversions;
mod customers;
mod document;
mod formats;
#[cfg(test)]
mod fuzz;
mod mapping;
mod responses;
mod source;
mod times;
#[cfg(test)]
mod vendor_files;

pub use conversions::{ConversionRow, read_conversions};
pub use customers::{CUSTOMER_FIELDS, CustomerSource, ImportedCustomer};
pub use formats::{FORMAT_NAMES, Format, generic_field_names};
pub use mapping::FieldMap;
pub use responses::{ImportedAnswer, ResponseSource};
pub use source::{
    FeedbackSource, FileSource, Parser, ReadOptions, Record, RecordReader, Rejection,
    UNRECOGNISED_FORMAT,
};
pub use times::parse_time;
