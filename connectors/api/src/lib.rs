//! The connector boundary of twotrack.
//!
//! # Layout
//! - [`model`]: the canonical, vendor-neutral item model every other layer works with.
//! - [`connector`]: the [`Connector`] trait each tracker client implements, plus the request and cursor types.
//! - [`error`]: [`ConnectorError`], typed so that "retry" versus "give up" is decided by a `match`, not a string.
//! - [`secret`]: credentials wrapped in `secrecy` types that never print.
//! - [`http`]: the shared HTTP layer (rate limit, Retry-After, backoff with jitter, timeouts, redaction).
//!
//! Only the crates under `connectors/` know vendor JSON; everything above this crate speaks [`Item`].

pub mod connector;
pub mod error;
pub mod http;
pub mod model;
pub mod secret;
pub mod settings;

pub use connector::{Connector, Cursor, Page, Partitioning};
pub use error::ConnectorError;
pub use model::*;
