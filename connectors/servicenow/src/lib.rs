//! The ServiceNow connector: the Table API (`/api/now/table/{table}`) behind twotrack's [`Connector`] trait.
//!
//! # Layout
//! - [`settings`]: [`ServiceNowSettings`] / [`ServiceNowWrite`] and their validation.
//! - `dto`: the vendor JSON (every value a string, or a `{display_value, value}` pair).
//! - [`mapping`]: records to [`Item`]s, and the conventions twotrack keeps in ServiceNow fields (twins,
//!   links, hashtag markers).
//! - `query`: encoded queries, UTC timestamps, `Link` headers (pure).
//! - `client`: list / create / patch over the shared HTTP layer, and paging.
//! - `connector`: [`ServiceNowConnector`], the trait implementation.
//!
//! # Pulling
//! One scope per table. A pull asks for
//! `sysparm_query=<filter>^sys_updated_on>=<since UTC>^ORDERBYsys_updated_on^ORDERBYsys_id` with
//! `sysparm_display_value=all` (group names and state labels in the same request) and an explicit
//! `sysparm_fields`. `sys_updated_on` has whole-second precision and many records share a second, so the
//! filter is inclusive and [`Cursor::is_new`] drops what was already ingested. Pages follow the
//! `Link rel="next"` URL; without a `Link` header the connector pages by offset and stops at `X-Total-Count`
//! or a short page. The page token is that next URL (same origin and table enforced).
//!
//! Offset pages (which is what `Link` URLs are) can shift when a record of an earlier page is updated
//! during the pull: it moves to the end (and is pulled there), and the records after it move up by one, so
//! one record at the page boundary may be skipped until it changes again. Pull pages back to back.
//!
//! # Writing
//! Creates are POSTs and journal appends (work notes, comments) are PATCHes that add an entry: neither is
//! re-sent after an unknown outcome ([`ConnectorError::Unknown`]); callers read first (`find_by_origin`,
//! `notes`). Field PATCHes (labels, close, fields without a note) are idempotent and retried.
//!
//! [`Connector`]: twotrack_api::Connector
//! [`Item`]: twotrack_api::Item
//! [`Cursor::is_new`]: twotrack_api::Cursor::is_new
//! [`ConnectorError::Unknown`]: twotrack_api::ConnectorError::Unknown

mod client;
mod connector;
mod dto;
pub mod mapping;
mod query;
pub mod settings;

pub use connector::{Choice, Group, ServiceNowConnector};
pub use settings::{ServiceNowSettings, ServiceNowWrite};
