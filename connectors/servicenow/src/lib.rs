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
//! One scope per table, each its own stream of pages. A pull orders by `sys_updated_on`, then `sys_id` (a
//! total order) and pages by keyset, never by offset: each page asks for what follows the last record of
//! the previous one,
//! `sysparm_query=<filter>^sys_updated_on><t>^NQ<filter>^sys_updated_on=<t>^sys_id><id>^ORDERBYsys_updated_on^ORDERBYsys_id`
//! (`sys_updated_on` has whole-second precision, hence the tie-break on `sys_id`). A record edited while
//! a pull pages moves to the end of the order and is pulled there; nothing else shifts, so nothing is
//! skipped. The page token is that position (`<t>|<sys_id>`); a page shorter than asked for, or
//! `X-Total-Count` no larger than the page, ends the stream. Only a stream's first page asks for the
//! count; later pages, and every page of a partition, say `sysparm_no_count=true`, so the instance reads
//! no further than the page. Requests use `sysparm_display_value=all`
//! (group names and state labels in the same request) and an explicit `sysparm_fields`.
//!
//! An incremental pull resumes strictly after the cursor's `(since, last_id_at_since)`, the last record
//! ingested, so records sharing the cursor's second are not downloaded again, once that second has
//! settled (a minute old, `query::SETTLE`). Before that, and for a cursor stored before keyset paging (no
//! id), it starts at `sys_updated_on>=<since>` and [`Cursor::is_new`] drops what was already ingested: an
//! edit in the same second as the last read keeps its `(sys_updated_on, sys_id)` and only that inclusive
//! read sees it.
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
mod lease;
pub mod mapping;
mod query;
pub mod settings;

pub use connector::{Choice, Group, ServiceNowConnector};
pub use settings::{ServiceNowScope, ServiceNowSettings, ServiceNowWrite};
