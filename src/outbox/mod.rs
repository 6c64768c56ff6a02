//! The write path: a durable outbox of corrections, and the move saga that carries them out.
//!
//! A correction is stored in the mirror, under its idempotency key, and flushed to disk *before* any
//! remote write; each saga step is recorded only after the tracker confirmed it. Every step is safe to
//! run again after a crash:
//!
//! | step | remote call | why re-running it is safe |
//! |---|---|---|
//! | a. check | read the source | a read; judged again as it is now: dropped if closed, kept or no longer misfiled |
//! | b. adopt | find twins by origin | a read; an existing twin is adopted instead of creating another; after a create whose answer was lost, also among the items created since its mark, read by key (a tracker's search may lag behind writes) |
//! | c. create | find the reporter by e-mail, create the twin on their behalf | runs only after (b) found nothing, in the same attempt; recorded as sent (`create_sent`) before the request, until the tracker answers; a create naming the person that the tracker rejects made nothing and is sent once without them (`people`) |
//! | d. link | remote link / correlation fields | idempotent upserts |
//! | d2. history | copy the source's comments to the twin | each copy carries a marker; the twin's notes are read first and a copy already there is skipped (`history`) |
//! | e. comment | comment on the source | the comment carries a reference; skipped if already there |
//! | f. close | close the source | skipped if the source is already closed; read back to confirm |
//! | g. done | (local) | the record and its audit-log entry are written in one transaction |
//!
//! Non-idempotent writes are never re-sent blindly: an unknown outcome fails the attempt, and the next
//! attempt starts again from the reads.
//!
//! A storm (many reports of one event) is one correction of its own, `storm:<tracker>:<key>`: one parent
//! incident, each report attached to it once; its saga and its growth are in `outbox/storm.rs`.
//!
//! A correction that fails `policy.max_attempts` runs in a row is parked with its last error and not
//! attempted again until an operator retries it; an operator may cancel one that has written nothing yet
//! (before (c), or after a create the tracker rejected). See [`control`].
//!
//! Guards: a human keep marker wins even when it appears while a move is under way (before (e) the source
//! is read again; a kept source is neither told nor closed). A correction dropped for one revision of its
//! source is planned again only for a newer revision ([`supersedes`]); a done one never. Items twotrack
//! created are never planned, so nothing moves back, and neither is an original a human reopened after its
//! move ([`moves`] gives the planner the moves made, with both sides as the mirror holds them; see
//! [`crate::plan::after`]). [`bound_moves`] caps a cycle at `policy.max_moves`
//! (the most confident first; the rest wait) and refuses, before anything is stored, a cycle that would
//! move more than `policy.max_move_share` of a tracker: that signals a fault, not a backlog.

mod attachments;
pub mod control;
mod failpoint;
mod history;
mod people;
mod saga;
mod storm;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use twotrack_api::connector::{Created, NewItem};
use twotrack_api::{Class, ConnectorError, Item, Kind};

use crate::classify::{Action, Classifier, RulesError, Site};
use crate::config::Config;
use crate::mirror::{LogStore, Mirror, MirrorError, RecordStore, Stored};
use crate::plan::storm::MemberPlan;
use crate::plan::{Correction as Planned, Finding, ItemKeys, Moved, Moves, Planner, after::Side};
use crate::registry::Registry;

pub use saga::execute;
pub use storm::{MemberProgress, grows};

/// The namespace of corrections in the mirror.
pub const OUTBOX: &str = "outbox";
/// The namespace of the audit log in the mirror.
pub const AUDIT: &str = "audit";

/// One durable correction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// The idempotency key: `move:<tracker>:<key>`, `reroute:<tracker>:<key>`, `reprioritise:<tracker>:<key>`,
    /// `storm:<tracker>:<key>` (of the storm's first report).
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub source_tracker: String,
    pub source_key: String,
    /// The source's `updated` when the correction was planned: if it changed, the saga re-evaluates.
    pub source_updated: DateTime<Utc>,
    pub action: Planned2,
    pub state: State,
    #[serde(default)]
    pub progress: Progress,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What the correction does (a serializable form of [`crate::plan::Correction`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Planned2 {
    Move {
        target_tracker: String,
        class: Class,
        kind: Kind,
        confidence: f64,
        /// Boxed: by far the largest field of any action.
        new_item: Box<NewItem>,
        source_note: String,
        close_note: String,
    },
    Reroute {
        queue: String,
        group: String,
        note: String,
    },
    Reprioritise {
        impact: u8,
        urgency: u8,
        priority: u8,
        note: String,
    },
    /// Gather the reports of one event under one parent incident ([`crate::plan::storm`]); the source is
    /// the storm's first report, the parent is recorded as `progress.twin`.
    Storm {
        service_tracker: String,
        parent: Box<NewItem>,
        priority: u8,
        members: Vec<MemberPlan>,
    },
}

/// The kind of a correction: the first part of its id (`move:jira:SHOP-1`), its `type` in the
/// stored correction, its action in `outbox list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionKind {
    Move,
    Reroute,
    Reprioritise,
    Storm,
}

impl CorrectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionKind::Move => "move",
            CorrectionKind::Reroute => "reroute",
            CorrectionKind::Reprioritise => "reprioritise",
            CorrectionKind::Storm => "storm",
        }
    }

    /// The kind of correction `planned` is.
    fn of(planned: &Planned) -> CorrectionKind {
        match planned {
            Planned::Move(_) => CorrectionKind::Move,
            Planned::Reroute { .. } => CorrectionKind::Reroute,
            Planned::Reprioritise { .. } => CorrectionKind::Reprioritise,
        }
    }
}

impl std::fmt::Display for CorrectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Planned2 {
    pub fn kind(&self) -> CorrectionKind {
        match self {
            Planned2::Move { .. } => CorrectionKind::Move,
            Planned2::Reroute { .. } => CorrectionKind::Reroute,
            Planned2::Reprioritise { .. } => CorrectionKind::Reprioritise,
            Planned2::Storm { .. } => CorrectionKind::Storm,
        }
    }

    /// The same correction, the confidence compared to a millionth: judged again from the item as read
    /// back from its tracker, the evidence can sum in another order (labels, fields) and differ in the
    /// last bits, which is no new decision.
    pub fn same_decision(&self, other: &Planned2) -> bool {
        match (self, other) {
            (
                Planned2::Move { target_tracker, class, kind, confidence, new_item, source_note, close_note },
                Planned2::Move {
                    target_tracker: t2,
                    class: c2,
                    kind: k2,
                    confidence: p2,
                    new_item: n2,
                    source_note: s2,
                    close_note: cl2,
                },
            ) => {
                (confidence - p2).abs() < 1e-6
                    && (target_tracker, class, kind, new_item, source_note, close_note) == (t2, c2, k2, n2, s2, cl2)
            }
            _ => self == other,
        }
    }
}

/// Where a correction stands. Only a pending one is carried out; see [`control`] for how an operator
/// moves a correction between pending, parked and cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum State {
    Pending,
    Done {
        at: DateTime<Utc>,
    },
    Dropped {
        at: DateTime<Utc>,
        reason: String,
    },
    /// Failed `policy.max_attempts` runs in a row: not attempted again until `twotrack outbox retry`.
    Parked {
        at: DateTime<Utc>,
        error: String,
    },
    /// Cancelled by an operator before any remote write: never carried out, nor planned again (unless
    /// `twotrack outbox retry` re-arms it).
    Cancelled {
        at: DateTime<Utc>,
        #[serde(default)]
        reason: Option<String>,
    },
}

/// The saga steps confirmed so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub checked: bool,
    pub twin: Option<Created>,
    pub twin_linked: bool,
    pub source_linked: bool,
    pub commented: bool,
    pub closed: bool,
    pub followed_back: bool,
    /// The create of the twin was sent and its outcome is not known yet: a twin may exist although none
    /// is recorded (cleared once the tracker answered, or once a search by origin found no twin).
    #[serde(default)]
    pub create_sent: bool,
    /// Where the target's new items started right before that create was sent
    /// ([`twotrack_api::Connector::creation_mark`]): a twin the search does not show yet is looked for
    /// among the items created after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_mark: Option<String>,
    /// The reporter's note (or the follow-back) was sent on an original whose journal cannot be read, and
    /// no marker confirms it yet: it may have been posted. Never sent again (see `saga::post_once`).
    #[serde(default)]
    pub note_sent: bool,
    #[serde(default)]
    pub followback_sent: bool,
    /// The original's comments were carried to the twin (see `history`).
    #[serde(default)]
    pub history_carried: bool,
    /// The original's attachments were copied to the twin, or the twin told why not (see `attachments`).
    #[serde(default)]
    pub attachments_carried: bool,
    /// A storm's reports (`tracker:key`), each with its own steps.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, MemberProgress>,
}

/// One line of an item's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub correction: String,
    /// "planned", "created", "adopted", "linked", "history", "attachments", "commented", "closed", "done", "dropped", "failed",
    /// "parked", "retried", "cancelled", "rerouted", "reprioritised", "followed-back".
    pub event: String,
    pub source: String,
    pub twin: Option<String>,
    pub detail: String,
}

/// Errors of the write path.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("the classification rules are invalid: {0}")]
    Rules(#[from] RulesError),
    #[error(
        "refusing to apply: {moves} of {tracker}'s {open} open items would move, more than policy.max_move_share = \
         {share:.0}%. A tracker that misfiled usually means a rule or the configuration is wrong; the rules behind \
         most of these moves: {drivers}. Review `twotrack audit`, fix or disable the rule (or raise \
         policy.max_move_share), or narrow the cycle with --only"
    )]
    CircuitBreaker { tracker: String, moves: usize, open: usize, share: f64, drivers: String },
    #[error("tracker {0:?} is not configured")]
    UnknownTracker(String),
    /// The tracker accepted the close but the item is still open (e.g. a close state its table lacks).
    #[error(
        "{tracker}: {key} is still open (status {status:?}) after closing it; check the close settings in \
         [tracker.targets] of {tracker}"
    )]
    NotClosed { tracker: String, key: String, status: String },
    /// A copy of an attachment on the twin is not the original's file.
    #[error(
        "{tracker}: the copy of the attachment {file:?} on {twin} differs from the original ({detail}); delete          that copy from {twin}, then `twotrack outbox retry` the move"
    )]
    AttachmentMismatch { tracker: String, twin: String, file: String, detail: String },
}

impl OutboxError {
    pub fn is_refusal(&self) -> bool {
        matches!(self, OutboxError::CircuitBreaker { .. })
    }
}

/// Which findings to turn into corrections.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub tracker: Option<String>,
    pub only: Vec<String>,
    pub limit: Option<usize>,
}

/// The plan of one apply: the corrections it would enqueue.
#[derive(Debug, Clone, Default)]
pub struct ApplyPlan {
    pub corrections: Vec<Correction>,
    /// Open items per tracker (for the circuit breaker).
    pub open_items: BTreeMap<String, usize>,
    /// Per tracker, the rules that speak for its planned moves, and for how many (for the circuit
    /// breaker's message).
    pub drivers: BTreeMap<String, BTreeMap<String, usize>>,
    /// New moves left out of this cycle by `policy.max_moves` (the least confident): they wait for the
    /// next cycle.
    pub waiting: usize,
    /// Per tracker, the new moves [`plan`] did not make into corrections: past the first
    /// `policy.max_moves` new ones in apply's order they wait whatever the cap decides, and the circuit
    /// breaker still counts them (at 1,000,000 items per tracker, 211,723 planned moves held as
    /// corrections took 2 GB for a cycle that makes 50).
    pub left_out: BTreeMap<String, usize>,
    /// Earlier moves a human acted on since (reopened original, returned twin), in the selection: never
    /// moved again, reported for a human to finish (a duplicate pair to close one of, an original to reopen).
    pub after_move: Vec<Moved>,
}

/// What an apply run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub planned: usize,
    /// Moves left for the next cycle by `policy.max_moves`.
    pub waiting: usize,
    pub done: usize,
    pub dropped: usize,
    pub failed: usize,
    pub failures: Vec<String>,
    /// Of the failed, those parked by this run (their `policy.max_attempts`-th failed run in a row).
    pub parked_now: usize,
    /// Corrections parked in the outbox after the run (this run's and earlier ones): they wait for
    /// `twotrack outbox retry`.
    pub parked: usize,
}

/// The outbox stores of a mirror.
#[derive(Clone)]
pub struct Outbox {
    pub records: RecordStore,
    pub audit: LogStore,
    pub mirror: Mirror,
}

impl Outbox {
    pub fn open(mirror: &Mirror) -> Result<Outbox, MirrorError> {
        Ok(Outbox { records: mirror.records(OUTBOX)?, audit: mirror.log(AUDIT)?, mirror: mirror.clone() })
    }

    pub fn get(&self, id: &str) -> Result<Option<Correction>, MirrorError> {
        self.records.get(id)
    }

    /// Every correction, by id.
    pub fn all(&self) -> impl Iterator<Item = Result<Correction, MirrorError>> + use<> {
        self.records.scan_prefix::<Correction>("").map(|r| r.map(|(_, c)| c))
    }

    /// Store a new correction unless one with its id exists; returns whether it was added. Flushed
    /// before returning: a correction is durable before any remote write.
    ///
    /// A pending or done correction is never replaced (its saga resumes, or it is finished). A dropped one
    /// is replaced when the planner proposes it again for a *newer* revision of the source than the one it
    /// was dropped for: the item changed after the drop and is a confident misfile again, so forgetting it
    /// would lose a correction. Keep markers, closed items and twins are never planned, so this cannot
    /// override a human or move a twin back.
    pub fn enqueue(&self, c: &Correction) -> Result<bool, MirrorError> {
        if matches!(c.action, Planned2::Storm { .. }) {
            return storm::merge(self, c);
        }
        let mut added = false;
        self.records.update_and_log(&c.id, &self.audit, |current: Option<Correction>| {
            let event = match &current {
                None => "planned",
                Some(old) if supersedes(c, old) => "planned-again",
                Some(_) => {
                    added = false;
                    return (current, None);
                }
            };
            added = true;
            let entry = AuditEntry {
                correction: c.id.clone(),
                event: event.into(),
                source: format!("{}:{}", c.source_tracker, c.source_key),
                twin: None,
                detail: describe(&c.action),
            };
            (Some(c.clone()), Some(entry))
        })?;
        self.mirror.flush()?;
        Ok(added)
    }

    /// Apply `f` to a stored correction and log `entry`, atomically, then flush.
    pub fn record(
        &self,
        id: &str,
        entry: Option<AuditEntry>,
        mut f: impl FnMut(&mut Correction),
    ) -> Result<Option<Correction>, MirrorError> {
        let out = self.records.update_and_log(id, &self.audit, |current: Option<Correction>| match current {
            Some(mut c) => {
                f(&mut c);
                (Some(c), entry.clone())
            }
            None => (None, None),
        })?;
        self.mirror.flush()?;
        Ok(out)
    }

    /// Audit-log entries about one item (as source or twin), oldest first.
    pub fn history(&self, key: &str) -> Result<Vec<(DateTime<Utc>, AuditEntry)>, MirrorError> {
        let mut out = Vec::new();
        for e in self.audit.entries::<AuditEntry>() {
            let e = e?;
            let source_key = e.entry.source.rsplit(':').next().unwrap_or("");
            let twin_key = e.entry.twin.as_deref().and_then(|t| t.rsplit(':').next()).unwrap_or("");
            if source_key.eq_ignore_ascii_case(key) || twin_key.eq_ignore_ascii_case(key) {
                out.push((e.at, e.entry));
            }
        }
        Ok(out)
    }
}

/// Whether a newly planned correction replaces the stored one with its id: only a dropped one, and only for a
/// newer revision of the source than the one it was dropped for.
pub fn supersedes(planned: &Correction, stored: &Correction) -> bool {
    matches!(stored.state, State::Dropped { .. }) && planned.source_updated > stored.source_updated
}

/// Whether a planned correction was already dealt with (done, or dropped for this revision of the source):
/// enqueuing it changes nothing.
pub fn already_handled(planned: &Correction, stored: Option<&Correction>) -> bool {
    stored.is_some_and(|s| s.state != State::Pending && !supersedes(planned, s) && !grows(planned, s))
}

/// One line describing a planned action.
pub fn describe(a: &Planned2) -> String {
    match a {
        Planned2::Move { target_tracker, class, kind, confidence, new_item, .. } => format!(
            "move to {target_tracker} as {class} / {kind} (confidence {confidence:.2}){}",
            new_item.queue.as_deref().map(|q| format!(", queue {q}")).unwrap_or_default()
        ),
        Planned2::Reroute { group, .. } => format!("reassign to {group}"),
        Planned2::Reprioritise { impact, urgency, priority, .. } => {
            format!("set impact {impact}, urgency {urgency} (priority {priority})")
        }
        Planned2::Storm { service_tracker, priority, members, .. } => format!(
            "gather {} report(s) of one event under one parent incident in {service_tracker} (priority {priority})",
            members.len()
        ),
    }
}

/// The correction `apply` would enqueue for a finding (`None` for a finding it only reports).
pub fn correction_from(f: &Finding) -> Option<Correction> {
    let c = f.correction.as_ref()?;
    let action = match c {
        Planned::Move(m) => Planned2::Move {
            target_tracker: m.target_tracker.clone(),
            class: f.verdict.class,
            kind: f.verdict.kind,
            confidence: f.verdict.confidence,
            new_item: Box::new(m.new_item.clone()),
            source_note: m.source_note.clone(),
            close_note: m.close_note.clone(),
        },
        Planned::Reroute { queue, group, note } => {
            Planned2::Reroute { queue: queue.clone(), group: group.clone(), note: note.clone() }
        }
        Planned::Reprioritise { impact, urgency, priority, note } => {
            Planned2::Reprioritise { impact: *impact, urgency: *urgency, priority: *priority, note: note.clone() }
        }
    };
    Some(Correction {
        id: correction_id(c, &f.item),
        created_at: Utc::now(),
        source_tracker: f.item.tracker.clone(),
        source_key: f.item.key.clone(),
        source_updated: f.item.updated,
        action,
        state: State::Pending,
        progress: Progress::default(),
        attempts: 0,
        last_error: None,
    })
}

/// The outbox's id of the correction `planned` for `item`: one of each kind an item.
fn correction_id(planned: &Planned, item: &Item) -> String {
    id_pieces(CorrectionKind::of(planned).as_str(), &item.tracker, &item.key).concat()
}

/// The outbox's id of a correction of `kind` for an item, in pieces: `{kind}:{tracker}:{key}`.
fn id_pieces<'a>(kind: &'a str, tracker: &'a str, key: &'a str) -> [&'a str; 5] {
    [kind, ":", tracker, ":", key]
}

/// The moves this mirror's outbox carried out, with both sides as the mirror holds them now (a twin not
/// synced yet is taken as open; `returns` says which twins a human returned). Reads only the done moves
/// and their two items.
pub fn moves(mirror: &Mirror, returns: &crate::plan::Returns) -> Result<Moves, MirrorError> {
    let mut pairs = Vec::new();
    for c in Outbox::open(mirror)?.all() {
        let c = c?;
        let (State::Done { .. }, Planned2::Move { target_tracker, .. }, Some(twin)) =
            (&c.state, &c.action, &c.progress.twin)
        else {
            continue;
        };
        let Some(original) = mirror.get(&c.source_tracker, &c.source_key)? else { continue };
        pairs.push(match mirror.get(target_tracker, &twin.key)? {
            Some(twin) => Moved::new(returns, &original, &twin),
            None => Moved::before_sync(&original, Side::unseen(target_tracker, &twin.key, &twin.url)),
        });
    }
    Ok(Moves::new(pairs))
}

/// An open item as [`plan`] judged it on a worker (where the item itself is dropped): its tracker, its
/// words for the storm detector with its urgency (none for a twin, or where no storms are looked for),
/// and the corrections its findings plan (none when not selected), each as the cap reads it with the
/// rules that drive it.
struct Judged {
    tracker: String,
    words: Option<(crate::storm::Reading, Option<u8>)>,
    planned: Vec<(Capped, Vec<String>)>,
}

/// A planned correction as the cap reads it: apply's order (confidence, id), its source, and whether it
/// [`counts_as_new`] (worked out where it was planned). Not the correction itself: [`plan`] makes
/// corrections only of those a cycle can make, and the audit none. An audit at 1,000,000 items per
/// tracker plans about 200,000 moves and keeps them all until the storms are known: their ids
/// (`move:{tracker}:{key}`) are not written out, and the strings are boxed (no spare capacity).
#[derive(Debug, Clone)]
pub struct Capped {
    pub confidence: f64,
    pub tracker: Box<str>,
    pub key: Box<str>,
    id: CappedId,
    pub is_new: bool,
}

/// A [`Capped`]'s id.
#[derive(Debug, Clone)]
enum CappedId {
    /// The id [`correction_id`] gives the correction of this kind a finding plans ([`id_pieces`]).
    Parts(&'static str),
    /// Any other (a storm's parent).
    Whole(Box<str>),
}

impl Capped {
    /// [`Capped::of`] the correction finding `f` plans (`None` where it plans none), made without the
    /// correction itself (a copy of every text it would write) unless the outbox has one of its id.
    pub fn of_finding(f: &Finding, outbox: &Outbox) -> Result<Option<Capped>, OutboxError> {
        let Some(planned) = &f.correction else { return Ok(None) };
        let is_move = matches!(planned, Planned::Move(_));
        let is_new = match outbox.get(&correction_id(planned, &f.item))? {
            None => is_move,
            Some(stored) => correction_from(f).is_some_and(|c| is_move && !already_handled(&c, Some(&stored))),
        };
        Ok(Some(Capped {
            confidence: if is_move { f.verdict.confidence } else { 0.0 },
            tracker: f.item.tracker.as_str().into(),
            key: f.item.key.as_str().into(),
            id: CappedId::Parts(CorrectionKind::of(planned).as_str()),
            is_new,
        }))
    }

    /// [`Capped::of_finding`], with the rules that drive it where it is a move (for the circuit
    /// breaker's message, [`ApplyPlan::count_drivers`]).
    pub fn with_drivers(f: &Finding, outbox: &Outbox) -> Result<Option<(Capped, Vec<String>)>, OutboxError> {
        let drivers = || match f.correction {
            Some(Planned::Move(_)) => driver_rules(f).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        Ok(Capped::of_finding(f, outbox)?.map(|capped| (capped, drivers())))
    }

    pub fn of(c: &Correction, outbox: &Outbox) -> Result<Capped, OutboxError> {
        Ok(Capped {
            confidence: confidence(c),
            is_new: counts_as_new(c, outbox)?,
            id: CappedId::Whole(c.id.as_str().into()),
            tracker: c.source_tracker.as_str().into(),
            key: c.source_key.as_str().into(),
        })
    }

    /// Whether `id` is this correction's id.
    pub fn has_id(&self, id: &str) -> bool {
        self.id_bytes().eq(id.bytes())
    }

    /// Apply's order of corrections: the most confident first, then by id.
    pub fn in_order(&self, other: &Capped) -> std::cmp::Ordering {
        other.confidence.total_cmp(&self.confidence).then_with(|| self.id_bytes().cmp(other.id_bytes()))
    }

    /// The id's bytes, as the outbox would store it.
    fn id_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        let pieces = match &self.id {
            CappedId::Parts(kind) => id_pieces(kind, &self.tracker, &self.key),
            CappedId::Whole(id) => [id, "", "", "", ""],
        };
        pieces.into_iter().flat_map(str::bytes)
    }
}

/// The correction of planned move `c`, made again from its item as the mirror holds it (`None` when the
/// item no longer plans it: it changed since).
fn remake(mirror: &Mirror, planner: &Planner<'_>, c: &Capped) -> Result<Option<Correction>, OutboxError> {
    let Some(a) = mirror.get(&c.tracker, &c.key)?.and_then(|item| planner.assess(item)) else { return Ok(None) };
    let findings = planner.findings(&a).into_iter().filter(|f| f.action == Action::Move);
    Ok(findings.filter_map(|f| correction_from(&f)).find(|made| c.has_id(&made.id)))
}

/// Turn the mirror's current findings into corrections (not stored yet).
pub fn plan(
    config: &Config,
    mirror: &Mirror,
    classifier: &Classifier,
    site: &Site,
    sel: &Selection,
) -> Result<ApplyPlan, OutboxError> {
    plan_with(config, mirror, classifier, site, sel, &crate::audit::Quiet)
}

/// [`plan`], telling `progress` how far it has got (judging every item, finding storms), as the audit does.
pub fn plan_with(
    config: &Config,
    mirror: &Mirror,
    classifier: &Classifier,
    site: &Site,
    sel: &Selection,
    progress: &dyn crate::audit::Progress,
) -> Result<ApplyPlan, OutboxError> {
    use crate::audit::Phase;
    let planner = Planner::new(config, classifier, site).with_moves(moves(mirror, &config.policy.returns)?);
    let selected = |tracker: &str, key: &str| {
        sel.tracker.as_deref().is_none_or(|t| t == tracker)
            && (sel.only.is_empty() || sel.only.iter().any(|k| k.eq_ignore_ascii_case(key)))
    };
    let mut out = ApplyPlan {
        after_move: planner
            .moves
            .decided()
            .filter(|m| selected(&m.original.tracker, &m.original.key) || selected(&m.twin.tracker, &m.twin.key))
            .cloned()
            .collect(),
        ..ApplyPlan::default()
    };
    // Storms are found among every open item (as the audit finds them), whatever the selection; what a
    // storm shows of its reports is read back for its members alone.
    let mut detector = crate::storm::Detector::lean(&config.storm);
    detector.expect(site.model.items_read());
    let mut planned: Vec<(Capped, Vec<String>)> = Vec::new();
    let outbox = Outbox::open(mirror)?;
    // Each open item is judged on the workers; the calling thread adds up in the mirror's order.
    let judge = |item: Stored| -> Option<Result<Judged, OutboxError>> {
        let item = match item.decode() {
            Ok(item) if !item.open => return None,
            Ok(item) => item,
            Err(e) => return Some(Err(e.into())),
        };
        let is_selected = selected(&item.tracker, &item.key);
        let counted = |tracker| Some(Ok(Judged { tracker, words: None, planned: Vec::new() }));
        if !is_selected && !config.storm.enabled {
            return counted(item.tracker);
        }
        let tracker = item.tracker.clone();
        let Some(a) = planner.assess(item) else { return counted(tracker) };
        // A twin twotrack created repeats its original: never a report of its own.
        let words = (config.storm.enabled && a.item.origin.is_none())
            .then(|| (crate::storm::Reading::of(&a.item), a.verdict.urgency));
        let mut planned = Vec::new();
        if is_selected {
            for f in planner.findings(&a).into_iter().filter(|f| f.action == Action::Move) {
                match Capped::with_drivers(&f, &outbox) {
                    Ok(capped) => planned.extend(capped),
                    Err(e) => return Some(Err(e)),
                }
            }
        }
        Some(Ok(Judged { tracker, words, planned }))
    };
    progress.begin(Phase::Judging, Some(mirror.stored_count()?));
    let items = crate::audit::counted(mirror.stored(None), progress, None);
    let judged = crate::parallel::map_in_order(items, crate::parallel::workers(), judge, |judged| {
        let Judged { tracker, words, planned: more } = judged?;
        *out.open_items.entry(tracker).or_default() += 1;
        if let Some((words, urgency)) = words {
            detector.add_read(words, urgency);
        }
        planned.extend(more);
        Ok::<(), OutboxError>(())
    });
    progress.end();
    judged?;
    // A storm's reports are corrected together (one parent), never one by one.
    progress.begin(Phase::Storms, None);
    let detected = detector.finish_reading(|tracker, key| mirror.get(tracker, key));
    progress.end();
    let detected = detected?;
    let (storms, covered) = storm_corrections(config, mirror, &planner, &detected, selected)?;
    let mut entries: Vec<(Capped, Option<Correction>)> = Vec::with_capacity(planned.len() + storms.len());
    for (c, drivers) in planned {
        if !covered.contains(&c.tracker, &c.key) {
            out.count_drivers(&c.tracker, drivers);
            entries.push((c, None));
        }
    }
    for storm in storms {
        entries.push((Capped::of(&storm, &outbox)?, Some(storm)));
    }
    entries.sort_by(|(a, _), (b, _)| a.in_order(b));
    if let Some(limit) = sel.limit {
        entries.truncate(limit);
    }
    // Corrections only of what a cycle can make: every correction that is not new, and the first
    // `max_moves` new ones; the rest are counted.
    let mut new = 0;
    for (c, made) in entries {
        if c.is_new && new >= config.policy.max_moves {
            *out.left_out.entry(c.tracker.into()).or_default() += 1;
            continue;
        }
        new += usize::from(c.is_new);
        let made = match made {
            Some(made) => Some(made),
            None => remake(mirror, &planner, &c)?,
        };
        out.corrections.extend(made);
    }
    Ok(out)
}

/// The storms found in the whole mirror as apply would correct them: one correction per storm with
/// reports to attach (of those with a report `selected`), and the reports they cover,
/// whose own moves give way to them. Only the storms' reports are read again and judged, so the cost
/// grows with the storms, not with the mirror.
pub fn storm_corrections(
    config: &Config,
    mirror: &Mirror,
    planner: &Planner<'_>,
    storms: &[crate::storm::Storm],
    selected: impl Fn(&str, &str) -> bool,
) -> Result<(Vec<Correction>, ItemKeys), OutboxError> {
    let mut facts = std::collections::HashMap::new();
    for m in storms.iter().flat_map(|s| &s.members) {
        if let Some(a) = mirror.get(&m.tracker, &m.key)?.and_then(|item| planner.assess(item)) {
            let fact = storm::Fact { exempt: a.exempt.is_some(), queue: a.verdict.queue.clone() };
            facts.insert((m.tracker.clone(), m.key.clone()), fact);
        }
    }
    let stored = storm::stored(&Outbox::open(mirror)?)?;
    Ok(storm::corrections(config, mirror, planner.classifier, storms, &facts, &stored, selected)?)
}

impl ApplyPlan {
    /// Count `rules`, the rules that speak for a move of one of `tracker`'s items (`driver_rules`), for
    /// the circuit breaker's message.
    pub fn count_drivers(&mut self, tracker: &str, rules: impl IntoIterator<Item = String>) {
        let drivers = self.drivers.entry(tracker.to_string()).or_default();
        for rule in rules {
            *drivers.entry(rule).or_default() += 1;
        }
    }

    /// How many corrections were planned: those made, and the new moves left out ([`ApplyPlan::left_out`]).
    pub fn planned(&self) -> usize {
        self.corrections.len() + self.left_out.values().sum::<usize>()
    }
}

/// The rules that speak for the class finding `f` moves its item to.
fn driver_rules(f: &Finding) -> impl Iterator<Item = &str> {
    let class = crate::classify::Subject::Class(f.verdict.class);
    f.verdict.reasons.iter().filter(move |r| r.weight > 0.0 && r.subject() == class).map(|r| r.rule.as_str())
}

/// How sure a correction is, for apply's order ([`Capped::in_order`]).
pub fn confidence(c: &Correction) -> f64 {
    match &c.action {
        Planned2::Move { confidence, .. } => *confidence,
        // Many reports of one event: before any single move.
        Planned2::Storm { .. } => 1.0,
        _ => 0.0,
    }
}

/// Whether a planned correction counts against a cycle's `policy.max_moves`: a move or a storm (one
/// correction, however many reports it gathers) the outbox has not dealt with already.
pub fn counts_as_new(c: &Correction, outbox: &Outbox) -> Result<bool, OutboxError> {
    Ok(matches!(c.action, Planned2::Move { .. } | Planned2::Storm { .. })
        && !already_handled(c, outbox.get(&c.id)?.as_ref()))
}

/// Bound a cycle's plan (in apply's order, [`Capped::in_order`]): refuse it when it would move more than
/// `policy.max_move_share` of a tracker's open items (the circuit breaker), else keep at most
/// `policy.max_moves` new moves (the first, the most confident); the rest wait for later cycles.
pub fn bound_moves(config: &Config, plan: &mut ApplyPlan, outbox: &Outbox) -> Result<(), OutboxError> {
    let mut planned = plan
        .corrections
        .iter()
        .map(|c| Ok((c.source_tracker.as_str(), counts_as_new(c, outbox)?)))
        .collect::<Result<Vec<_>, OutboxError>>()?;
    // The new moves `plan` left out come after every correction it made, in apply's order.
    for (tracker, &n) in &plan.left_out {
        planned.extend(std::iter::repeat_n((tracker.as_str(), true), n));
    }
    let keep = cap(config, &plan.open_items, &plan.drivers, &planned)?;
    let before = plan.planned();
    let mut keep = keep.into_iter();
    plan.corrections.retain(|_| keep.next().unwrap_or(true));
    plan.left_out.clear();
    plan.waiting = before - plan.corrections.len();
    Ok(())
}

/// [`bound_moves`] on what it reads of each planned correction, in apply's order: its source tracker and
/// whether it [`counts_as_new`]. Returns, for each, whether this cycle keeps it; or the circuit breaker's
/// refusal.
pub fn cap(
    config: &Config,
    open_items: &BTreeMap<String, usize>,
    drivers: &BTreeMap<String, BTreeMap<String, usize>>,
    planned: &[(&str, bool)],
) -> Result<Vec<bool>, OutboxError> {
    let policy = &config.policy;
    let mut per_tracker: BTreeMap<&str, usize> = BTreeMap::new();
    for &(tracker, is_new) in planned {
        if is_new {
            *per_tracker.entry(tracker).or_default() += 1;
        }
    }
    for (&tracker, &n) in &per_tracker {
        let open = open_items.get(tracker).copied().unwrap_or(0);
        let allowed = ((open as f64 * policy.max_move_share).floor() as usize).max(1);
        if n > allowed {
            let mut drivers: Vec<(&String, &usize)> = drivers.get(tracker).into_iter().flatten().collect();
            drivers.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let named: Vec<String> = drivers.iter().take(3).map(|(rule, n)| format!("{rule} ({n})")).collect();
            return Err(OutboxError::CircuitBreaker {
                tracker: tracker.to_string(),
                moves: n,
                open,
                share: policy.max_move_share * 100.0,
                drivers: if named.is_empty() { "none named".to_string() } else { named.join(", ") },
            });
        }
    }
    let mut taken = 0;
    Ok(planned
        .iter()
        .map(|&(_, is_new)| {
            let kept = !is_new || taken < policy.max_moves;
            taken += usize::from(is_new && kept);
            kept
        })
        .collect())
}

/// Everything the saga needs.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub registry: &'a Registry,
    pub outbox: Outbox,
    pub classifier: Classifier,
    /// The site as learned when the plan was made: a source that changed is planned again with it.
    pub site: Site,
}

/// Enqueue the plan and execute every pending correction (including ones left by an earlier run).
pub async fn apply(ctx: &Ctx<'_>, plan: &ApplyPlan) -> Result<ApplyReport, OutboxError> {
    let mut report = ApplyReport { planned: plan.corrections.len(), ..ApplyReport::default() };
    for c in &plan.corrections {
        ctx.outbox.enqueue(c)?;
    }
    let mut pending = Vec::new();
    for c in ctx.outbox.all() {
        match c {
            Ok(c) if c.state == State::Pending => pending.push(c.id),
            Ok(_) => {}
            // Never skip a correction silently: one that cannot be read is reported as failed.
            Err(e) => {
                report.failed += 1;
                report.failures.push(format!("an unreadable correction in the outbox: {e}"));
            }
        }
    }
    for id in pending {
        match execute(ctx, &id).await {
            Ok(State::Done { .. }) => {
                report.done += 1;
                metrics::counter!("twotrack_corrections_total", "outcome" => "applied").increment(1);
            }
            Ok(State::Dropped { .. }) => report.dropped += 1,
            // Still pending (it vanished), or parked or cancelled in the meantime: nothing was done.
            Ok(State::Pending | State::Parked { .. } | State::Cancelled { .. }) => {}
            Err(e) => {
                report.failed += 1;
                metrics::counter!("twotrack_corrections_total", "outcome" => "failed").increment(1);
                let parked = ctx.outbox.get(&id)?.is_some_and(|c| matches!(c.state, State::Parked { .. }));
                if parked {
                    report.parked_now += 1;
                    metrics::counter!("twotrack_corrections_total", "outcome" => "parked").increment(1);
                    report.failures.push(format!(
                        "{id}: {e} (parked: it failed policy.max_attempts = {} runs in a row; not attempted again \
                         until `twotrack outbox retry {id}`)",
                        ctx.config.policy.max_attempts
                    ));
                } else {
                    report.failures.push(format!("{id}: {e}"));
                }
            }
        }
    }
    report.parked = ctx.outbox.parked()?;
    Ok(report)
}

/// One daemon cycle of the write path: plan, check the breaker, and apply unless in dry run.
pub async fn cycle(config: &Config, registry: &Registry, mirror: &Mirror) -> Result<ApplyReport, OutboxError> {
    let classifier = crate::audit::classifier(config)?;
    let site = crate::audit::learn_site(config, mirror, &classifier)?;
    let mut plan = plan(config, mirror, &classifier, &site, &Selection::default())?;
    for m in &plan.after_move {
        // Never moved again; a human has something left to do where there is advice.
        if m.advice().is_some() {
            tracing::warn!(original = %m.original.key, twin = %m.twin.key, "{}", m.describe());
        } else {
            tracing::info!(original = %m.original.key, twin = %m.twin.key, "{}", m.describe());
        }
    }
    let outbox = Outbox::open(mirror)?;
    if config.policy.dry_run {
        tracing::info!(planned = plan.planned(), "dry run: no corrections applied");
        return Ok(ApplyReport { planned: plan.planned(), parked: outbox.parked()?, ..ApplyReport::default() });
    }
    bound_moves(config, &mut plan, &outbox)?;
    if plan.waiting > 0 {
        tracing::info!(
            waiting = plan.waiting,
            max_moves = config.policy.max_moves,
            "moves capped by policy.max_moves: the least confident wait for the next cycle"
        );
    }
    let ctx = Ctx { config, registry, outbox, classifier, site };
    let mut report = apply(&ctx, &plan).await?;
    report.waiting = plan.waiting;
    Ok(report)
}

/// Follow-back: when a twin twotrack created is resolved, comment once on the original, passing on how
/// the twin was resolved (its resolution or close code, and its resolution notes: ServiceNow close notes,
/// else the last comment a person left on a Jira twin), or that it was returned. Likewise, once a storm's
/// parent is resolved, the reporter of each report the storm closed is told once (`outbox/storm.rs`).
pub async fn follow_back(config: &Config, registry: &Registry, mirror: &Mirror) -> Result<usize, OutboxError> {
    let classifier = crate::audit::classifier(config)?;
    // Follow-back plans nothing: it needs no site.
    let site = Site::unknown("not learned for follow-back");
    let ctx = Ctx { config, registry, outbox: Outbox::open(mirror)?, classifier, site };
    // The storms' reporters are told even when a move's follow-back failed (and the other way round).
    let moves = saga::follow_back(&ctx).await;
    let storms = storm::follow_back(&ctx).await;
    Ok(moves? + storms?)
}

#[cfg(test)]
mod tests {
    use super::{Capped, CappedId, CorrectionKind, Planned2};

    /// `apply` plans after reading every item, as the audit judges: it tells the same phases.
    #[test]
    fn a_plan_tells_its_phases_with_the_items_it_reads() {
        use crate::audit::testing::{Recorded, mirror_of, whole_mirror};
        let config = crate::config::two_trackers_for_test();
        let mirror = mirror_of(1300, 900);
        let classifier = crate::audit::classifier(&config).unwrap();
        let progress = Recorded::default();
        let site = crate::audit::learn_site_with(&config, &mirror, &classifier, &progress).unwrap();
        let selection = super::Selection::default();
        let told = super::plan_with(&config, &mirror, &classifier, &site, &selection, &progress).unwrap();
        let quiet = super::plan(&config, &mirror, &classifier, &site, &selection).unwrap();
        assert_eq!(told.open_items, quiet.open_items);
        assert_eq!(told.planned(), quiet.planned());
        assert_eq!(*progress.0.lock().unwrap(), whole_mirror(2200));
    }

    /// A stored correction's `type` is its kind's name, which its id starts with and `outbox list`
    /// shows: one name for each, whichever way it is read.
    #[test]
    fn a_stored_corrections_type_is_its_kinds_name() {
        let new_item = || Box::new(twotrack_api::connector::NewItem::new(twotrack_api::Kind::Incident, "VPN down"));
        let all = [
            Planned2::Move {
                target_tracker: "servicenow".into(),
                class: twotrack_api::Class::Work,
                kind: twotrack_api::Kind::Incident,
                confidence: 0.99,
                new_item: new_item(),
                source_note: String::new(),
                close_note: String::new(),
            },
            Planned2::Reroute { queue: "network".into(), group: "Network".into(), note: String::new() },
            Planned2::Reprioritise { impact: 1, urgency: 1, priority: 1, note: String::new() },
            Planned2::Storm {
                service_tracker: "servicenow".into(),
                parent: new_item(),
                priority: 1,
                members: Vec::new(),
            },
        ];
        let kinds: Vec<CorrectionKind> = all.iter().map(Planned2::kind).collect();
        assert_eq!(
            kinds,
            [CorrectionKind::Move, CorrectionKind::Reroute, CorrectionKind::Reprioritise, CorrectionKind::Storm]
        );
        for planned in &all {
            let stored = serde_json::to_value(planned).unwrap();
            assert_eq!(stored["type"], planned.kind().as_str(), "{stored}");
            assert_eq!(serde_json::to_value(planned.kind()).unwrap(), planned.kind().as_str());
            assert_eq!(format!("[{:<8}]", CorrectionKind::Storm), "[storm   ]");
        }
    }

    fn capped(confidence: f64, tracker: &str, key: &str, id: CappedId) -> Capped {
        Capped { confidence, tracker: tracker.into(), key: key.into(), id, is_new: true }
    }

    /// The id a planned move keeps in parts orders as the whole string would, also where one tracker's
    /// name begins another's (`jira:` against `jira2`).
    #[test]
    fn planned_corrections_order_by_confidence_then_by_their_ids_as_written() {
        let all = [
            capped(0.9, "jira2", "A-1", CappedId::Parts("move")),
            capped(0.9, "jira", "B-1", CappedId::Parts("move")),
            capped(0.9, "jira", "A-10", CappedId::Parts("move")),
            capped(0.9, "jira", "A-1", CappedId::Parts("reroute")),
            capped(0.9, "jira", "A-1", CappedId::Whole("move:jira:A-2".into())),
            capped(0.97, "sn", "INC1", CappedId::Whole("storm-INC1".into())),
            capped(0.5, "jira", "A-0", CappedId::Parts("move")),
        ];
        let id = |c: &Capped| String::from_utf8(c.id_bytes().collect()).unwrap();
        let mut got = all.to_vec();
        got.sort_by(Capped::in_order);
        let mut want = all.to_vec();
        want.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then_with(|| id(a).cmp(&id(b))));
        let ids: Vec<String> = got.iter().map(id).collect();
        assert_eq!(ids, want.iter().map(id).collect::<Vec<_>>());
        assert_eq!(
            ids,
            [
                "storm-INC1",
                "move:jira2:A-1",
                "move:jira:A-10",
                "move:jira:A-2",
                "move:jira:B-1",
                "reroute:jira:A-1",
                "move:jira:A-0"
            ]
        );
        assert!(all[1].has_id("move:jira:B-1"));
        assert!(!all[1].has_id("move:jira:B-10"));
        assert!(!all[1].has_id("move:jira:B-"));
        assert!(all[5].has_id("storm-INC1"));
    }
}
