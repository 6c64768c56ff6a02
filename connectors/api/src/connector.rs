//! The one trait every tracker client implements, and the small types it speaks.
//!
//! The set of connectors is closed (Jira, ServiceNow): the application dispatches with an enum
//! (`registry::AnyConnector`), so the trait uses `impl Future + Send` returns rather than boxing.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::model::{Item, Kind, TrackerKind};

/// Where an incremental pull of one scope resumes.
///
/// `since` is the greatest `updated` timestamp ingested so far, and `seen_at_since` the items already
/// ingested at exactly that timestamp, each with a fingerprint of its content. Connectors query from
/// `since` minus a margin (Jira compares at minute precision in the API user's time zone) and drop
/// what the cursor says was seen, so items that share a timestamp across a page boundary are neither
/// missed nor pulled forever. The fingerprint catches an item changed again within the same timestamp
/// (ServiceNow has second precision): its content differs, so it is new again.
///
/// `last_id_at_since` is the greatest tracker id (in text order) ingested at `since`. A tracker that
/// pages by keyset (ServiceNow, ordered by `sys_updated_on` then `sys_id`) resumes strictly after
/// `(since, last_id_at_since)`, so the items sharing the boundary second are not downloaded again. A
/// cursor stored before this field existed has none and resumes at `since` inclusive (the dedupe above).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub since: Option<DateTime<Utc>>,
    /// Key -> content fingerprint of the items ingested at `since`.
    #[serde(default)]
    pub seen_at_since: BTreeMap<String, u64>,
    /// The greatest id (text order) of the items ingested at `since`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_id_at_since: Option<String>,
}

impl Cursor {
    /// The cursor of a pull whose items were ingested by `self` and `other` (two partitions of a scope):
    /// the later `since`, with what each saw at it.
    pub fn merge(&mut self, other: &Cursor) {
        match (self.since, other.since) {
            (_, None) => {}
            (Some(mine), Some(theirs)) if theirs < mine => {}
            (Some(mine), Some(theirs)) if theirs == mine => {
                self.seen_at_since.extend(other.seen_at_since.iter().map(|(k, v)| (k.clone(), *v)));
                if other.last_id_at_since > self.last_id_at_since {
                    self.last_id_at_since = other.last_id_at_since.clone();
                }
            }
            _ => *self = other.clone(),
        }
    }

    /// Whether `item` is newer than what this cursor has already ingested.
    pub fn is_new(&self, item: &Item) -> bool {
        match self.since {
            None => true,
            Some(since) if item.updated > since => true,
            Some(since) if item.updated == since => {
                self.seen_at_since.get(&item.key).is_none_or(|seen| *seen != fingerprint(item))
            }
            Some(_) => false,
        }
    }

    /// Move the cursor past `item` (call in the order items were ingested; order-independent anyway).
    pub fn advance(&mut self, item: &Item) {
        match self.since {
            Some(since) if item.updated < since => {}
            Some(since) if item.updated == since => {
                self.seen_at_since.insert(item.key.clone(), fingerprint(item));
                if self.last_id_at_since.as_ref().is_none_or(|last| *last < item.id) {
                    self.last_id_at_since = Some(item.id.clone());
                }
            }
            _ => {
                self.since = Some(item.updated);
                self.seen_at_since.clear();
                self.seen_at_since.insert(item.key.clone(), fingerprint(item));
                self.last_id_at_since = Some(item.id.clone());
            }
        }
    }
}

/// A fingerprint of an item's content. Stable for a given build; after an upgrade that changes it, the
/// items at the cursor's boundary are pulled once more (and found unchanged by the mirror).
pub fn fingerprint(item: &Item) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    item.hash(&mut h);
    h.finish()
}

/// One page of a pull.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Items on this page, in the tracker's order (ascending `updated`), already filtered by the cursor.
    pub items: Vec<Item>,
    /// Opaque token for the next page of the same query; `None` on the last page.
    pub next: Option<String>,
    /// How many items the query of this page matches in all, when the tracker says so (ServiceNow's
    /// `X-Total-Count`); for progress only.
    pub total: Option<u64>,
}

/// How a scope's full pull is split: disjoint partitions that together hold every item of the scope,
/// each pulled as its own stream of pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partitioning {
    /// The first page token of each partition (pass it to [`Connector::pull_page`]; every `next` it
    /// leads to is a durable position a pull may resume from after a restart).
    pub tokens: Vec<String>,
    /// How many items the scope holds, when the tracker says so (Jira's approximate count, ServiceNow's
    /// `X-Total-Count`); for progress only.
    pub total: Option<u64>,
}

impl Partitioning {
    /// The smallest partition [`Partitioning::cuts`] plans, in pages.
    pub const MIN_PAGES: u64 = 2;

    /// Where to cut a scope's range (of creation times, of ids) for a full pull by `streams` streams: the
    /// cut points as fractions of the range, ascending, each in `(0, 1)`. `pages` is how many pages the
    /// scope holds, when the tracker says so.
    ///
    /// The partitions shrink along the range ("guided" scheduling): the first `streams` take
    /// `1 / (2 x streams)` of it each, the next `streams` half that, and so on down to about
    /// [`Partitioning::MIN_PAGES`] pages; what is left is cut into `streams` parts as large as the last. The
    /// streams take the partitions in this order, so each ends on a small one and they end together. With
    /// equal partitions the last one taken still had its whole length to go when the other streams were
    /// done: in a pull of 300,000 issues at 100 ms a page and 8 in flight, the window missed 8.3
    /// request-seconds in the last 5 s, and 2.3 with these. Never more partitions than pages.
    pub fn cuts(streams: usize, pages: Option<u64>) -> Vec<f64> {
        let streams = streams.max(1);
        let smallest = match pages {
            Some(pages) => Self::MIN_PAGES as f64 / pages.max(1) as f64,
            // Unknown size: about as many partitions as 100,000 issues in pages of 100 would get.
            None => 1.0 / (streams as f64 * 32.0),
        };
        let mut cuts = Vec::new();
        let mut at = 0.0;
        let mut share = 1.0 / (2.0 * streams as f64);
        while share >= smallest {
            for _ in 0..streams {
                at += share;
                cuts.push(at);
            }
            share /= 2.0;
        }
        // After a round, the rest is `streams` parts the size of that round's; with none (few pages), as
        // many parts as it holds of the smallest, at most `streams`.
        let rest = 1.0 - at;
        let parts = if cuts.is_empty() { ((1.0 / smallest).floor() as usize).clamp(1, streams) } else { streams };
        cuts.extend((1..parts).map(|i| at + rest * i as f64 / parts as f64));
        cuts
    }
}

/// What a health check learned about the tracker and the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// e.g. "Jira Cloud 1001.0.0" or "ServiceNow (incident readable)".
    pub server: String,
    /// The account the credentials belong to.
    pub account: String,
}

/// Who a note is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteVisibility {
    /// Visible to the reporter: a Jira comment, a ServiceNow `comments` journal entry.
    Public,
    /// For the team: a ServiceNow `work_notes` entry (Jira has no separate internal note; it uses a comment).
    Internal,
}

/// A new item to create in a tracker (the twin of a misfiled original).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    pub kind: Kind,
    pub summary: String,
    /// Plain text; the connector converts (ADF for Jira v3).
    pub description: String,
    /// The original's labels and components, carried where the target's settings say so
    /// (`carry_labels`): Jira labels, ServiceNow markers (hashtag lines of the description).
    pub labels: Vec<String>,
    /// Assignment group / queue (ServiceNow).
    pub queue: Option<String>,
    pub impact: Option<u8>,
    pub urgency: Option<u8>,
    /// The ITIL priority (1 highest ..= 5) the configured impact x urgency matrix gives, for trackers whose
    /// priority is a field of its own (Jira); `None`: the connector derives it from impact and urgency
    /// with the default matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// The original this twin was moved from. The connector records it where `find_by_origin` finds it
    /// (Jira: the label `twotrack-from-<KEY>`; ServiceNow: `correlation_id`).
    pub origin: Option<OriginRef>,
    /// An internal note written with the creation (e.g. how the priority was derived).
    pub work_note: Option<String>,
    /// The person the item is created on behalf of (found with [`Connector::find_person`]): Jira's
    /// `reporter`, ServiceNow's `caller_id` (incident) or `requested_for` (request). `None`: the API user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Person>,
}

impl NewItem {
    /// A new item of `kind` with a summary and nothing else (no description, labels, queue or
    /// priority, no origin).
    pub fn new(kind: Kind, summary: impl Into<String>) -> NewItem {
        NewItem {
            kind,
            summary: summary.into(),
            description: String::new(),
            labels: Vec::new(),
            queue: None,
            impact: None,
            urgency: None,
            priority: None,
            origin: None,
            work_note: None,
            reporter: None,
        }
    }
}

/// Where a new item of one kind is created in a tracker: decided by the tracker's connector from its
/// settings alone (`target(kind)` on its write settings), so that the plan shows, and `create` writes,
/// the same project or table and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The Jira project key, or the ServiceNow table.
    pub container: String,
    /// The Jira issue type, or the ServiceNow table (a table is its own type).
    pub item_type: String,
}

/// One comment or note of an item, as carried to its twin when it moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remark {
    /// The tracker's id of it (a Jira comment id, a ServiceNow journal entry's sys_id).
    pub id: String,
    /// Who wrote it, as the tracker shows them.
    pub author: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub text: String,
    /// For the team only: a ServiceNow work note, a Jira Service Management internal comment.
    pub internal: bool,
}

/// A person as one tracker knows them: found by e-mail in the tracker an item moves to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// What the tracker names the person by in writes: a Jira Cloud account id, a Jira Data Center user
    /// name, a ServiceNow `sys_user` sys_id.
    pub id: String,
    /// The name people see.
    pub display_name: String,
    /// The e-mail address they were found by.
    pub email: String,
}

/// A pointer to an item in another tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginRef {
    /// The configured tracker name.
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub summary: String,
}

/// What `create` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub key: String,
    pub id: String,
    pub url: String,
}

/// Field changes for misrouted / misprioritised service items. `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldUpdate {
    pub queue: Option<String>,
    pub impact: Option<u8>,
    pub urgency: Option<u8>,
    /// The ITIL priority (1 ..= 5) the configured matrix gives the new impact and urgency (see
    /// [`NewItem::priority`]).
    pub priority: Option<u8>,
    /// A work note explaining the change.
    pub note: Option<String>,
}

/// One twotrack instance's heartbeat as the writer of a pair of trackers, stored in every tracker it
/// writes to (see `src/writer/` in the application for how it is claimed, renewed and released).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterBeat {
    /// Random per mirror: the instance that holds the lease.
    pub instance: String,
    pub host: String,
    pub pid: u32,
    /// When the process started.
    pub started: DateTime<Utc>,
    /// When this instance claimed the lease (earliest claim wins a tie).
    pub claimed: DateTime<Utc>,
    /// The last renewal, by the holder's clock.
    pub beat: DateTime<Utc>,
    /// The heartbeat is stale (free to take over) this many seconds after `beat`.
    pub ttl_seconds: u64,
    /// Released on a clean exit: free at once.
    #[serde(default)]
    pub released: bool,
}

/// A tracker client. Reads are retried by the HTTP layer; non-idempotent writes (`create`, `comment`,
/// `close` in Jira) are never blindly re-sent: on an unknown outcome they return
/// [`ConnectorError::Unknown`] and the caller reads the target before trying again.
pub trait Connector: Send + Sync {
    /// The configured tracker name.
    fn name(&self) -> &str;

    fn kind(&self) -> TrackerKind;

    /// The scopes pulled independently, each with its own cursor (Jira: one, the configured JQL;
    /// ServiceNow: one per table).
    fn scopes(&self) -> Vec<String>;

    /// How many page streams of this tracker may run at once (the partitions of a full pull); every
    /// stream shares the tracker's one rate limit.
    fn concurrency(&self) -> usize;

    /// Split a full pull of `scope` by `streams` streams into disjoint partitions (Jira: `created` windows;
    /// ServiceNow: `sys_id` ranges), cut where [`Partitioning::cuts`] says, each pulled with
    /// [`Connector::pull_page`] from its token. The streams take them in the order given.
    fn partition(
        &self,
        scope: &str,
        streams: usize,
    ) -> impl Future<Output = Result<Partitioning, ConnectorError>> + Send;

    /// Check connectivity and credentials (Jira serverInfo + myself; ServiceNow a one-row read).
    fn health(&self) -> impl Future<Output = Result<Health, ConnectorError>> + Send;

    /// One page of items of `scope` changed since `cursor`; pass the previous page's `next` to continue.
    fn pull_page(
        &self,
        scope: &str,
        cursor: &Cursor,
        page_token: Option<&str>,
    ) -> impl Future<Output = Result<Page, ConnectorError>> + Send;

    /// Fetch one item by key, fresh from the tracker.
    fn get(&self, key: &str) -> impl Future<Output = Result<Item, ConnectorError>> + Send;

    /// Create an item. Not retried on an unknown outcome.
    fn create(&self, item: &NewItem) -> impl Future<Output = Result<Created, ConnectorError>> + Send;

    /// Add a comment (public) or a work note (internal).
    fn comment(
        &self,
        key: &str,
        text: &str,
        visibility: NoteVisibility,
    ) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// The texts of the comments and notes on an item, oldest first (to check whether a note was already left).
    fn notes(&self, key: &str) -> impl Future<Output = Result<Vec<String>, ConnectorError>> + Send;

    /// Add a label (Jira) or marker (ServiceNow: a tag-like field); idempotent.
    fn add_label(&self, key: &str, label: &str) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// Remove a label or marker; idempotent.
    fn remove_label(&self, key: &str, label: &str) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// Close the item with the configured resolution and this note. A no-op on an already closed item.
    fn close(&self, key: &str, note: &str) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// Link `key` to an item in the other tracker (Jira remote link upserted by globalId; ServiceNow
    /// correlation fields plus a work note). Idempotent.
    fn link(&self, key: &str, target: &OriginRef) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// Items twotrack created from the original `origin_key` (there should be at most one).
    fn find_by_origin(&self, origin_key: &str) -> impl Future<Output = Result<Vec<Item>, ConnectorError>> + Send;

    /// Change queue / impact / urgency of a service item.
    fn update_fields(&self, key: &str, update: &FieldUpdate)
    -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// Make `key` a child of `parent`, an incident in this tracker that gathers the reports of one event (a
    /// storm): ServiceNow sets `parent_incident` (on an incident; an item of another table is linked with
    /// [`Connector::link`]); Jira links the issue to its parent. Idempotent: nothing is written when the
    /// parent is already set.
    fn set_parent(&self, key: &str, parent: &OriginRef) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// Where this tracker's new items start now, taken right before a `create` and stored with it, so
    /// that [`Connector::find_created_after`] can find the item if the create's answer is lost. `None`
    /// (the default) where [`Connector::find_by_origin`] sees a create at once.
    fn creation_mark(&self) -> impl Future<Output = Result<Option<String>, ConnectorError>> + Send {
        async { Ok(None) }
    }

    /// Items twotrack created from `origin_key` after `mark` (a [`Connector::creation_mark`]), found
    /// without the tracker's search, which may lag behind writes (Jira Cloud's does). The default finds
    /// none: `find_by_origin` alone is read-after-write consistent there.
    fn find_created_after(
        &self,
        origin_key: &str,
        mark: &str,
    ) -> impl Future<Output = Result<Vec<Item>, ConnectorError>> + Send {
        let _ = (origin_key, mark);
        async { Ok(Vec::new()) }
    }

    /// The writer heartbeat stored in this tracker under `name` (Jira: a property of the write project;
    /// ServiceNow: a `sys_properties` row), if any.
    fn read_beat(&self, name: &str) -> impl Future<Output = Result<Option<WriterBeat>, ConnectorError>> + Send;

    /// Store `beat` under `name`, replacing what is there. Neither tracker offers a conditional write:
    /// the caller reads back to find who won a race.
    fn write_beat(&self, name: &str, beat: &WriterBeat) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// The active person with this e-mail address (case-insensitive) in this tracker, if there is exactly
    /// one (Jira: user search; ServiceNow: `sys_user` by `email`). `None` when nobody, or more than one
    /// person, matches: an item is then created by the API user, on the person's behalf.
    fn find_person(&self, email: &str) -> impl Future<Output = Result<Option<Person>, ConnectorError>> + Send {
        let _ = email;
        async { Ok(None) }
    }

    /// The comments and notes of an item, oldest first, each with who wrote it, when, and for whom
    /// (Jira: comments, internal where Jira Service Management says so; ServiceNow: the `comments` and
    /// `work_notes` journal entries).
    fn remarks(&self, key: &str) -> impl Future<Output = Result<Vec<Remark>, ConnectorError>> + Send;

    /// Whether `error`, the answer to a [`Connector::create`] naming a [`NewItem::reporter`], says the
    /// tracker refused the person's field (Jira: `reporter` not on the create screen, or not a user): the
    /// create made nothing and may be sent again without the person.
    fn refuses_person(&self, error: &ConnectorError) -> bool {
        let _ = error;
        false
    }

    /// The files attached to `key`, oldest first (Jira: the issue's `attachment` field; ServiceNow: the
    /// `sys_attachment` rows of the record). A 403 says the account may not read them (ServiceNow's
    /// `sys_attachment` ACL often denies integration users).
    fn attachments(&self, key: &str) -> impl Future<Output = Result<Vec<Attachment>, ConnectorError>> + Send;

    /// The content of `attachment` (one of [`Connector::attachments`] of `key`), read up to `limit` bytes:
    /// never more than that is held in memory, and a larger file is [`Download::TooLarge`].
    fn download(
        &self,
        key: &str,
        attachment: &Attachment,
        limit: u64,
    ) -> impl Future<Output = Result<Download, ConnectorError>> + Send;

    /// Attach the file `file_name` (of media type `mime_type`) with `content` to `key`, and return it as
    /// the tracker now lists it. A POST that creates: never re-sent after an unknown outcome
    /// ([`ConnectorError::Unknown`]); list the item's attachments before trying again.
    fn attach(
        &self,
        key: &str,
        file_name: &str,
        mime_type: &str,
        content: Vec<u8>,
    ) -> impl Future<Output = Result<Attachment, ConnectorError>> + Send;
}

/// A file attached to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The tracker's id of it: a Jira attachment id, a ServiceNow `sys_attachment` sys_id.
    pub id: String,
    pub file_name: String,
    /// In bytes, as the tracker reports it.
    pub size: u64,
    /// The media type the tracker stored with it, if any.
    pub mime_type: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// Who attached it, as the tracker shows them.
    pub author: Option<String>,
    /// The SHA-256 of the content (lower-case hex), where the tracker reports one (ServiceNow's `hash`
    /// in recent releases); `None` where it reports none or another kind of hash.
    pub sha256: Option<String>,
    /// Where a person downloads it (Jira: its `content` URL; ServiceNow: its `download_link`).
    pub url: Option<String>,
}

impl Attachment {
    /// The media type to send the file with: the stored one, else `application/octet-stream`.
    pub fn mime_or_default(&self) -> &str {
        self.mime_type.as_deref().filter(|m| !m.trim().is_empty()).unwrap_or("application/octet-stream")
    }
}

/// The content of an attachment, read up to a size limit ([`Connector::download`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Download {
    /// Every byte of the file.
    Complete(Vec<u8>),
    /// The file is larger than the limit; it was not read beyond it.
    TooLarge,
}

impl From<crate::http::Bounded> for Download {
    fn from(body: crate::http::Bounded) -> Download {
        match body {
            crate::http::Bounded::Complete(bytes) => Download::Complete(bytes.to_vec()),
            crate::http::Bounded::TooLarge => Download::TooLarge,
        }
    }
}

/// Whether `text` is a SHA-256 in hex (64 hex digits), as an attachment's `sha256` must be.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(key: &str, min: u32) -> Item {
        let mut i = Item::new("t", key, "s");
        i.updated = Utc.with_ymd_and_hms(2024, 1, 15, 10, min, 0).unwrap();
        i
    }

    /// The partitions' sizes in pages, from the cut points.
    fn sizes(cuts: &[f64], pages: u64) -> Vec<f64> {
        let bounds: Vec<f64> = std::iter::once(0.0).chain(cuts.iter().copied()).chain([1.0]).collect();
        bounds.windows(2).map(|w| (w[1] - w[0]) * pages as f64).collect()
    }

    #[test]
    fn partitions_shrink_along_the_range_never_more_than_pages() {
        for streams in 1..=16 {
            for pages in (1..=300).chain([1000, 5000, 100_000]) {
                let cuts = Partitioning::cuts(streams, Some(pages));
                assert!(cuts.windows(2).all(|w| w[0] < w[1]), "{streams} {pages}: ascending");
                assert!(cuts.iter().all(|&c| c > 0.0 && c < 1.0), "{streams} {pages}: inside the range");
                assert!(cuts.len() < pages as usize, "{streams} {pages}: {} partitions", cuts.len() + 1);
                let sizes = sizes(&cuts, pages);
                assert!(sizes.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)), "{streams} {pages}: {sizes:?}");
            }
        }
        assert_eq!(Partitioning::cuts(12, Some(1000)).len() + 1, 72, "five halving rounds of 12, then 12");
        assert_eq!(Partitioning::cuts(12, Some(1)), Vec::<f64>::new());
        assert_eq!(Partitioning::cuts(8, None).len() + 1, 5 * 8 + 8);
    }

    /// Streams taking the partitions in order, a page each per time unit: when the last stream ends,
    /// against every page shared evenly. With equal partitions of the same number the last stream ends a
    /// good part of a partition after the others.
    #[test]
    fn streams_taking_the_partitions_in_order_end_together() {
        fn makespan(sizes: &[f64], streams: usize) -> f64 {
            let mut ends = vec![0.0_f64; streams];
            for size in sizes {
                let first = ends.iter_mut().min_by(|a, b| a.total_cmp(b)).unwrap();
                *first += size;
            }
            ends.into_iter().fold(0.0, f64::max)
        }
        for streams in [4, 9, 12] {
            for pages in [200, 1000, 10_000] {
                let guided = sizes(&Partitioning::cuts(streams, Some(pages)), pages);
                let ideal = pages as f64 / streams as f64;
                let late = makespan(&guided, streams) - ideal;
                assert!(late <= 2.0 * Partitioning::MIN_PAGES as f64, "{streams} {pages}: {late} pages late");
                // Equal partitions, as many, slightly uneven (a hundredth), as windows of time are.
                let n = guided.len();
                let equal: Vec<f64> =
                    (0..n).map(|i| pages as f64 / n as f64 * if i % 2 == 0 { 1.01 } else { 0.99 }).collect();
                assert!(makespan(&equal, streams) - ideal > late, "{streams} {pages}");
            }
        }
    }

    #[test]
    fn cursor_dedupes_items_sharing_the_boundary_timestamp() {
        let mut c = Cursor::default();
        for i in [at("A-1", 1), at("A-2", 2), at("A-3", 2)] {
            assert!(c.is_new(&i));
            c.advance(&i);
        }
        assert!(!c.is_new(&at("A-2", 2)));
        assert!(!c.is_new(&at("A-1", 1)));
        assert!(c.is_new(&at("A-4", 2)), "a new key at the boundary timestamp is new");
        assert!(c.is_new(&at("A-1", 3)), "a re-updated item is new again");
        let mut same_second = at("A-3", 2);
        same_second.summary = "changed within the same second".into();
        assert!(c.is_new(&same_second), "an item changed again at the boundary timestamp is new again");
        c.advance(&same_second);
        assert!(!c.is_new(&same_second));
        c.advance(&at("A-1", 3));
        assert_eq!(c.seen_at_since.len(), 1);
    }

    fn with_id(key: &str, id: &str, min: u32) -> Item {
        let mut i = at(key, min);
        i.id = id.into();
        i
    }

    #[test]
    fn cursor_keeps_the_greatest_id_at_its_timestamp() {
        let mut c = Cursor::default();
        c.advance(&with_id("A-1", "b1", 1));
        assert_eq!(c.last_id_at_since.as_deref(), Some("b1"));
        c.advance(&with_id("A-2", "c7", 2));
        c.advance(&with_id("A-3", "a9", 2));
        c.advance(&with_id("A-4", "ff", 1));
        assert_eq!((c.since, c.last_id_at_since.as_deref()), (Some(at("x", 2).updated), Some("c7")));
        c.advance(&with_id("A-5", "d0", 2));
        assert_eq!(c.last_id_at_since.as_deref(), Some("d0"));
        c.advance(&with_id("A-3", "a9", 3));
        assert_eq!(c.last_id_at_since.as_deref(), Some("a9"), "a later timestamp starts over");
    }

    #[test]
    fn merged_cursors_keep_the_later_timestamp_and_what_both_saw_at_it() {
        let (mut a, mut b) = (Cursor::default(), Cursor::default());
        a.advance(&with_id("A-1", "a1", 1));
        a.advance(&with_id("A-2", "a2", 3));
        b.advance(&with_id("A-3", "b3", 3));
        b.advance(&with_id("A-4", "a0", 2));
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged.since, Some(at("x", 3).updated));
        assert_eq!(merged.seen_at_since.keys().collect::<Vec<_>>(), ["A-2", "A-3"]);
        assert_eq!(merged.last_id_at_since.as_deref(), Some("b3"));
        let mut later = Cursor::default();
        later.advance(&with_id("A-9", "00", 4));
        merged.merge(&later);
        assert_eq!(merged, later);
        later.merge(&a);
        assert_eq!(later.since, Some(at("x", 4).updated), "an earlier cursor changes nothing");
        later.merge(&Cursor::default());
        assert_eq!(later.seen_at_since.len(), 1);
    }

    #[test]
    fn a_cursor_stored_before_keyset_paging_still_reads() {
        let old = r#"{"since":"2024-01-15T10:02:00Z","seen_at_since":{"A-2":7}}"#;
        let c: Cursor = serde_json::from_str(old).unwrap();
        assert_eq!((c.seen_at_since.len(), c.last_id_at_since), (1, None));
        let fresh = serde_json::to_string(&Cursor::default()).unwrap();
        assert!(!fresh.contains("last_id_at_since"), "{fresh}");
    }
}
