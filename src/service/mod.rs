//! Domain operations. Each function owns its queries and its owner filter;
//! nothing here knows about HTTP, and only `graphql/` turns [`ServiceError`]
//! into GraphQL errors.

pub mod accounts;
pub mod error;
pub mod tasks;
pub mod validate;

pub use error::ServiceError;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the stored timestamp precision.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}
