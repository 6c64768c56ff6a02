//! The move saga and the other corrections, step by step, each step recorded once confirmed.

use std::time::Duration;

use chrono::Utc;
use twotrack_api::connector::{Created, FieldUpdate, NoteVisibility, OriginRef};
use twotrack_api::{Connector, ConnectorError, Item};

use super::failpoint::hit;
use super::{AuditEntry, Correction, Ctx, OutboxError, Planned2, State};
use crate::classify::Action;
use crate::plan::{Correction as Planned, FindingKind, Planner, fill};
use crate::registry::AnyConnector;

/// How many times one correction is attempted in one run before it is left for the next run.
const ATTEMPTS: u32 = 4;

/// Execute one stored pending correction to completion (or until it is dropped, or fails `ATTEMPTS`
/// times). Returns the state it ended in. A run that fails counts towards `policy.max_attempts`: the
/// failed run that reaches it parks the correction ([`super::Outbox::fail`]); the quick retries of
/// transient errors within the run do not count on their own.
pub async fn execute(ctx: &Ctx<'_>, id: &str) -> Result<State, OutboxError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(c) = ctx.outbox.get(id)? else {
            return Ok(State::Pending);
        };
        if c.state != State::Pending {
            return Ok(c.state);
        }
        let result = match &c.action {
            Planned2::Move { .. } => run_move(ctx, c.clone()).await,
            Planned2::Reroute { .. } | Planned2::Reprioritise { .. } => run_update(ctx, c.clone()).await,
            Planned2::Storm { .. } => super::storm::run(ctx, c.clone()).await,
        };
        match result {
            Ok(state) => return Ok(state),
            Err(e) => {
                let retry = retryable(&e) && attempt < ATTEMPTS;
                let message = e.to_string();
                tracing::warn!(correction = id, attempt, error = %message, retry, "correction step failed");
                if !retry {
                    let max_attempts = ctx.config.policy.max_attempts;
                    if ctx.outbox.fail(id, &message, max_attempts)? {
                        tracing::warn!(
                            correction = id,
                            max_attempts,
                            error = %message,
                            "correction parked: it failed policy.max_attempts runs in a row and is not attempted \
                             again until `twotrack outbox retry`"
                        );
                    }
                    return Err(e);
                }
                ctx.outbox.record(id, None, |c| c.last_error = Some(message.clone()))?;
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
}

fn retryable(e: &OutboxError) -> bool {
    match e {
        OutboxError::Connector(c) => c.is_retryable() || matches!(c, ConnectorError::Unknown { .. }),
        _ => false,
    }
}

pub(super) fn entry(c: &Correction, event: &str, twin: Option<String>, detail: &str) -> AuditEntry {
    AuditEntry {
        correction: c.id.clone(),
        event: event.into(),
        source: format!("{}:{}", c.source_tracker, c.source_key),
        twin,
        detail: detail.into(),
    }
}

pub(super) fn connector(ctx: &Ctx<'_>, tracker: &str) -> Result<std::sync::Arc<AnyConnector>, OutboxError> {
    ctx.registry.get(tracker).ok_or_else(|| OutboxError::UnknownTracker(tracker.to_string()))
}

/// Drop a correction for good, for the revision `seen` of its source (a newer revision may plan it again,
/// see [`super::supersedes`]).
fn drop_it(ctx: &Ctx<'_>, c: &Correction, seen: &Item, reason: String) -> Result<State, OutboxError> {
    let state = State::Dropped { at: Utc::now(), reason: reason.clone() };
    let (s, updated) = (state.clone(), seen.updated);
    ctx.outbox.record(&c.id, Some(entry(c, "dropped", None, &reason)), |c| {
        c.state = s.clone();
        c.source_updated = updated;
    })?;
    tracing::info!(correction = %c.id, tracker = %c.source_tracker, source = %c.source_key, reason = %reason, "correction dropped");
    Ok(state)
}

/// Why a freshly read source must not be touched, if it must not.
pub(super) fn exemption(ctx: &Ctx<'_>, item: &Item) -> Option<String> {
    if !item.open {
        return Some(format!("{} is closed", item.key));
    }
    if item.has_label(&ctx.config.policy.keep_label) {
        return Some(format!("{} carries the keep marker {:?}", item.key, ctx.config.policy.keep_label));
    }
    if item.origin.is_some() || item.has_label(crate::plan::MOVED_LABEL) {
        return Some(format!("{} was created by twotrack and is never moved again", item.key));
    }
    None
}

async fn run_move(ctx: &Ctx<'_>, mut c: Correction) -> Result<State, OutboxError> {
    let source = connector(ctx, &c.source_tracker)?;
    let Planned2::Move { target_tracker, .. } = &c.action else { return Ok(c.state) };
    let target = connector(ctx, target_tracker)?;

    if c.progress.twin.is_none() {
        // b. A twin created for this source already (by an attempt that died before recording it)?
        hit("before-find");
        let twins = find_made(&c, &target, &c.source_key).await?;
        hit("after-find");
        if let Some(twin) = twins.into_iter().next() {
            let created = Created { key: twin.key.clone(), id: twin.id.clone(), url: twin.url.clone() };
            let e =
                entry(&c, "adopted", Some(format!("{}:{}", twin.tracker, twin.key)), "an existing twin was adopted");
            let cr = created.clone();
            ctx.outbox.record(&c.id, Some(e), |c| {
                c.progress.twin = Some(cr.clone());
                c.progress.create_sent = false;
            })?;
            c.progress.twin = Some(created);
        } else {
            if c.progress.create_sent {
                // A create whose outcome was unknown made no twin: nothing was written.
                ctx.outbox.record(&c.id, None, |c| c.progress.create_sent = false)?;
                c.progress.create_sent = false;
            }
            // a. Re-read the source; re-evaluate if it changed since the plan.
            hit("before-read");
            let fresh = source.get(&c.source_key).await?;
            hit("after-read");
            ctx.outbox.mirror.upsert_item(&fresh)?;
            if let Some(reason) = exemption(ctx, &fresh) {
                return drop_it(ctx, &c, &fresh, reason);
            }
            // Judge the item as it is now, always: ServiceNow stamps updates to the second, so an edit made
            // in the same second as the plan's read leaves `updated` unchanged, and must not be applied blindly.
            let changed = fresh.updated != c.source_updated;
            match replan(ctx, fresh.clone()) {
                Some(action) if action.same_decision(&c.action) && !changed => {}
                Some(action) => {
                    let (a, updated) = (action.clone(), fresh.updated);
                    ctx.outbox.record(
                        &c.id,
                        Some(entry(&c, "re-evaluated", None, &super::describe(&action))),
                        |c| {
                            c.action = a.clone();
                            c.source_updated = updated;
                        },
                    )?;
                    c.action = action;
                    c.source_updated = fresh.updated;
                }
                None => {
                    let why = if changed { "changed since it was planned and " } else { "" };
                    return drop_it(ctx, &c, &fresh, format!("{} {why}is no longer a confident misfile", fresh.key));
                }
            }
            // c. Create the twin. Never re-sent blindly: an unknown outcome fails this attempt, and the
            // next one starts again at (b).
            let Planned2::Move { target_tracker, new_item, .. } = &c.action else { return Ok(c.state) };
            let target = connector(ctx, target_tracker)?;
            let (created, behalf) = super::people::create_twin(ctx, &c, &target, &fresh, new_item).await?;
            hit("after-create");
            let detail = format!("{}{}", created.url, behalf.detail());
            let e = entry(&c, "created", Some(format!("{target_tracker}:{}", created.key)), &detail);
            let cr = created.clone();
            ctx.outbox.record(&c.id, Some(e), |c| {
                c.progress.twin = Some(cr.clone());
                c.progress.create_sent = false;
            })?;
            tracing::info!(correction = %c.id, tracker = %c.source_tracker, source = %c.source_key, twin_tracker = %target_tracker, twin = %created.key, "twin created");
            c.progress.twin = Some(created);
        }
    }
    let Planned2::Move { target_tracker, source_note, close_note, .. } = c.action.clone() else { return Ok(c.state) };
    let target = connector(ctx, &target_tracker)?;
    let Some(twin) = c.progress.twin.clone() else { return Ok(c.state) };
    let twin_ref = |summary: String| OriginRef {
        tracker: target_tracker.clone(),
        key: twin.key.clone(),
        url: twin.url.clone(),
        summary,
    };
    let source_ref = OriginRef {
        tracker: c.source_tracker.clone(),
        key: c.source_key.clone(),
        url: ctx.outbox.mirror.get(&c.source_tracker, &c.source_key)?.map(|i| i.url).unwrap_or_default(),
        summary: match &c.action {
            Planned2::Move { new_item, .. } => new_item.summary.clone(),
            _ => String::new(),
        },
    };
    let twin_tag = Some(format!("{target_tracker}:{}", twin.key));

    // d. Link both ways (idempotent upserts).
    if !c.progress.twin_linked || !c.progress.source_linked {
        hit("before-link");
        target.link(&twin.key, &source_ref).await?;
        source.link(&c.source_key, &twin_ref(source_ref.summary.clone())).await?;
        hit("after-link");
        ctx.outbox.record(&c.id, Some(entry(&c, "linked", twin_tag.clone(), "linked both ways")), |c| {
            c.progress.twin_linked = true;
            c.progress.source_linked = true;
        })?;
    }

    // d2. Carry the original's comments to the twin, each once (see `history`).
    if !c.progress.history_carried {
        let detail = super::history::carry(&c, &source, &target, &twin.key).await?;
        ctx.outbox.record(&c.id, Some(entry(&c, "history", twin_tag.clone(), &detail)), |c| {
            c.progress.history_carried = true
        })?;
    }

    // d3. Copy the original's attachments to the twin, each once (see `attachments`).
    if !c.progress.attachments_carried {
        let limit = ctx.config.policy.attachment_max_bytes;
        let carry = super::attachments::Carry { c: &c, source: &source, target: &target, twin: &twin.key, limit };
        let detail = carry.run().await?;
        ctx.outbox.record(&c.id, Some(entry(&c, "attachments", twin_tag.clone(), &detail)), |c| {
            c.progress.attachments_carried = true
        })?;
    }

    // The original as it is now, for (e) and (f). A keep marker added while the move was under way (say,
    // between a crash and the resume) still wins: the original is neither told nor closed, and the twin
    // stays for a human to resolve.
    let original = if c.progress.closed { None } else { Some(source.get(&c.source_key).await?) };
    if let Some(item) = original.as_ref().filter(|i| i.open && i.has_label(&ctx.config.policy.keep_label)) {
        let reason = format!(
            "{} got the keep marker {:?} while it was being moved: left open; its twin {} stays for a human to resolve",
            item.key, ctx.config.policy.keep_label, twin.key
        );
        return drop_it(ctx, &c, item, reason);
    }

    // e. Tell the reporter, once: the comment carries a reference that a re-run looks for.
    if !c.progress.commented {
        let text = fill(&source_note, &twin.key, &twin.url);
        let detail = match post_once(ctx, &c, &source, Note::Move, &text).await? {
            Posted::Yes => "told the reporter".to_string(),
            Posted::Uncertain(why) => why,
        };
        ctx.outbox.record(&c.id, Some(entry(&c, "commented", twin_tag.clone(), &detail)), |c| {
            c.progress.commented = true;
            c.progress.note_sent = false;
        })?;
    }

    // f. Close the original (skipped if it is closed already), and read it back: a tracker may accept the
    // update yet leave the item open, and a correction is done only once the remote confirmed it.
    if let Some(fresh) = original {
        let closed = if fresh.open {
            hit("before-close");
            source.close(&c.source_key, &fill(&close_note, &twin.key, &twin.url)).await?;
            hit("after-close");
            let after = source.get(&c.source_key).await?;
            if after.open {
                return Err(OutboxError::NotClosed {
                    tracker: c.source_tracker.clone(),
                    key: c.source_key.clone(),
                    status: after.status,
                });
            }
            after
        } else {
            fresh
        };
        // The mirror holds the original as read before the move (open): until the next sync it would
        // read as reopened after its move.
        ctx.outbox.mirror.upsert_item(&closed)?;
        ctx.outbox.record(&c.id, Some(entry(&c, "closed", twin_tag.clone(), "closed the original")), |c| {
            c.progress.closed = true
        })?;
    }

    // g. Done, with its audit-log entry, in one transaction.
    hit("before-done");
    let state = State::Done { at: Utc::now() };
    let s = state.clone();
    ctx.outbox
        .record(&c.id, Some(entry(&c, "done", twin_tag, &format!("moved to {}", twin.key))), |c| c.state = s.clone())?;
    tracing::info!(correction = %c.id, tracker = %c.source_tracker, source = %c.source_key, twin_tracker = %target_tracker, twin = %twin.key, "move done");
    Ok(state)
}

/// Plan a changed source again: the new move action, or `None` if it should no longer move.
/// The items twotrack made in `target` from `origin` (a twin of the original, a storm's parent): found by
/// their origin, and, after a create of `c` whose answer was lost, also among the items created since the
/// mark taken before it (Jira Cloud's search lags behind writes; reads by key do not).
pub(super) async fn find_made(c: &Correction, target: &AnyConnector, origin: &str) -> Result<Vec<Item>, OutboxError> {
    let made = target.find_by_origin(origin).await?;
    match &c.progress.create_mark {
        Some(mark) if made.is_empty() && c.progress.create_sent => Ok(target.find_created_after(origin, mark).await?),
        _ => Ok(made),
    }
}

/// Create `item` in `target` for `c`, never re-sent blindly: recorded as sent before the request goes out
/// (until the tracker answers, the item may exist, and the correction can no longer be cancelled, see
/// `control`), with where the target's new items start, so that an item whose answer is lost is found by
/// [`find_made`] even before search shows it. An unknown outcome fails this attempt, and the next one
/// starts again at the find; any other error says nothing was created.
pub(super) async fn create_once(
    ctx: &Ctx<'_>,
    c: &Correction,
    target: &AnyConnector,
    item: &twotrack_api::connector::NewItem,
    failpoint: &str,
) -> Result<Created, OutboxError> {
    let mark = target.creation_mark().await?;
    ctx.outbox.record(&c.id, None, |c| {
        c.progress.create_sent = true;
        c.progress.create_mark = mark.clone();
    })?;
    hit(failpoint);
    match target.create(item).await {
        Ok(created) => Ok(created),
        Err(e) => {
            if !matches!(e, ConnectorError::Unknown { .. }) {
                ctx.outbox.record(&c.id, None, |c| c.progress.create_sent = false)?;
            }
            Err(e.into())
        }
    }
}

fn replan(ctx: &Ctx<'_>, fresh: Item) -> Option<Planned2> {
    let planner = Planner::new(ctx.config, &ctx.classifier, &ctx.site);
    let a = planner.assess(fresh)?;
    let f = planner.findings(&a).into_iter().find(|f| f.kind == FindingKind::Misfiled && f.action == Action::Move)?;
    match f.correction? {
        Planned::Move(m) => Some(Planned2::Move {
            target_tracker: m.target_tracker,
            class: f.verdict.class,
            kind: f.verdict.kind,
            confidence: f.verdict.confidence,
            new_item: Box::new(m.new_item),
            source_note: m.source_note,
            close_note: m.close_note,
        }),
        _ => None,
    }
}

/// Reroute or reprioritise: one idempotent field update plus a note.
async fn run_update(ctx: &Ctx<'_>, c: Correction) -> Result<State, OutboxError> {
    let source = connector(ctx, &c.source_tracker)?;
    hit("before-read");
    let fresh = source.get(&c.source_key).await?;
    hit("after-read");
    if let Some(reason) = exemption(ctx, &fresh) {
        return drop_it(ctx, &c, &fresh, reason);
    }
    let (update, event) = match &c.action {
        Planned2::Reroute { group, note, .. } => {
            if fresh.queue.as_deref().is_some_and(|q| q.eq_ignore_ascii_case(group)) {
                return finish(ctx, &c, "rerouted", "already in the right queue");
            }
            (FieldUpdate { queue: Some(group.clone()), note: Some(note.clone()), ..FieldUpdate::default() }, "rerouted")
        }
        Planned2::Reprioritise { impact, urgency, priority, note } => {
            if fresh.impact == Some(*impact) && fresh.urgency == Some(*urgency) {
                return finish(ctx, &c, "reprioritised", "already set");
            }
            (
                FieldUpdate {
                    impact: Some(*impact),
                    urgency: Some(*urgency),
                    priority: Some(*priority),
                    note: Some(note.clone()),
                    ..FieldUpdate::default()
                },
                "reprioritised",
            )
        }
        Planned2::Move { .. } | Planned2::Storm { .. } => return Ok(c.state),
    };
    hit("before-update");
    source.update_fields(&c.source_key, &update).await?;
    hit("after-update");
    finish(ctx, &c, event, &super::describe(&c.action))
}

fn finish(ctx: &Ctx<'_>, c: &Correction, event: &str, detail: &str) -> Result<State, OutboxError> {
    let state = State::Done { at: Utc::now() };
    let s = state.clone();
    ctx.outbox.record(&c.id, Some(entry(c, event, None, detail)), |c| c.state = s.clone())?;
    Ok(state)
}

/// Comment once on each original whose twin has been resolved. One original that cannot be reached does
/// not hold up the others: every candidate is tried, then the first error (if any) is returned.
pub async fn follow_back(ctx: &Ctx<'_>) -> Result<usize, OutboxError> {
    let candidates: Vec<Correction> = ctx
        .outbox
        .all()
        .filter_map(|c| c.ok())
        .filter(|c| matches!(c.state, State::Done { .. }) && !c.progress.followed_back)
        .filter(|c| matches!(c.action, Planned2::Move { .. }))
        .collect();
    let (mut done, mut first_error) = (0, None);
    for c in candidates {
        match follow_back_one(ctx, &c).await {
            Ok(told) => done += usize::from(told),
            Err(e) => {
                tracing::warn!(correction = %c.id, tracker = %c.source_tracker, source = %c.source_key, error = %e, "follow-back failed; it is tried again next cycle");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// Follow back on one done move if its twin is resolved; returns whether it did.
async fn follow_back_one(ctx: &Ctx<'_>, c: &Correction) -> Result<bool, OutboxError> {
    let (Some(twin), Planned2::Move { target_tracker, .. }) = (&c.progress.twin, &c.action) else { return Ok(false) };
    // The mirror knows the twin's state after a sync; only resolved twins need a call.
    let Some(twin_item) = ctx.outbox.mirror.get(target_tracker, &twin.key)? else { return Ok(false) };
    if twin_item.open {
        return Ok(false);
    }
    let source = connector(ctx, &c.source_tracker)?;
    let resolution_notes = match twin_item.resolution_notes() {
        Some(n) => Some(n.to_string()),
        None => last_human_comment(ctx, target_tracker, &twin.key).await?,
    };
    let returned = ctx.config.policy.returns.is_returned(&twin_item);
    let text = followback_text(&twin_item, returned, &twin.url, resolution_notes.as_deref());
    let detail = match post_once(ctx, c, &source, Note::FollowBack, &text).await? {
        Posted::Yes => "told the reporter the outcome".to_string(),
        Posted::Uncertain(why) => why,
    };
    let e = entry(c, "followed-back", Some(format!("{target_tracker}:{}", twin.key)), &detail);
    ctx.outbox.record(&c.id, Some(e), |c| {
        c.progress.followed_back = true;
        c.progress.followback_sent = false;
    })?;
    Ok(true)
}

/// The notes the saga leaves, each at most once: two on an original, one on each report a storm gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Note<'a> {
    /// Step (e) of a move: the reporter is told where the item went.
    Move,
    /// After the twin is resolved: the reporter is told how it ended.
    FollowBack,
    /// A report in the product backlog a storm gathered: its reporter is told where it went.
    Storm { tracker: &'a str, key: &'a str },
    /// That report, once the storm's parent is resolved: its reporter is told how it ended.
    StormFollowBack { tracker: &'a str, key: &'a str },
}

impl Note<'_> {
    /// The item the note is left on.
    fn item<'c>(&'c self, c: &'c Correction) -> &'c str {
        match self {
            Note::Move | Note::FollowBack => &c.source_key,
            Note::Storm { key, .. } | Note::StormFollowBack { key, .. } => key,
        }
    }

    /// What the note's text ends with, and what a re-run looks for among the original's notes.
    fn reference(self, c: &Correction) -> String {
        match self {
            Note::Move => format!("(twotrack ref {})", c.id),
            Note::FollowBack => format!("(twotrack ref followback:{})", c.id),
            Note::Storm { key, .. } => format!("(twotrack ref {}:{key})", c.id),
            Note::StormFollowBack { key, .. } => format!("(twotrack ref followback:{}:{key})", c.id),
        }
    }

    /// The marker label that confirms the note was posted, where the notes cannot be read. It names the
    /// note (its correction, and which of the notes), so each item carries one per note.
    fn marker(self, c: &Correction) -> String {
        match self {
            Note::Move => format!("twotrack-told-{}", c.id),
            Note::FollowBack => format!("twotrack-told-followback:{}", c.id),
            Note::Storm { key, .. } => format!("twotrack-told-{}:{key}", c.id),
            Note::StormFollowBack { key, .. } => format!("twotrack-told-followback:{}:{key}", c.id),
        }
    }

    /// The failpoints right before and right after the note is posted.
    fn failpoints(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Note::Move => ("before-comment", "after-comment", "after-marker"),
            Note::FollowBack => ("before-followback", "after-followback", "after-followback-marker"),
            Note::Storm { .. } => ("storm-before-comment", "storm-after-comment", "storm-after-marker"),
            Note::StormFollowBack { .. } => {
                ("storm-before-followback", "storm-after-followback", "storm-after-followback-marker")
            }
        }
    }

    fn sent(self, p: &super::Progress) -> bool {
        match self {
            Note::Move => p.note_sent,
            Note::FollowBack => p.followback_sent,
            Note::Storm { tracker, key } => p.members.get(&format!("{tracker}:{key}")).is_some_and(|m| m.note_sent),
            Note::StormFollowBack { tracker, key } => {
                p.members.get(&format!("{tracker}:{key}")).is_some_and(|m| m.followback_sent)
            }
        }
    }

    fn set_sent(self, p: &mut super::Progress, sent: bool) {
        match self {
            Note::Move => p.note_sent = sent,
            Note::FollowBack => p.followback_sent = sent,
            Note::Storm { tracker, key } => p.members.entry(format!("{tracker}:{key}")).or_default().note_sent = sent,
            Note::StormFollowBack { tracker, key } => {
                p.members.entry(format!("{tracker}:{key}")).or_default().followback_sent = sent
            }
        }
    }
}

/// Whether a note is on the original now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Posted {
    /// Posted (now or by an earlier attempt), exactly once.
    Yes,
    /// It may or may not have been posted, and is not sent again (at most once); why, for the audit log.
    Uncertain(String),
}

/// Whether an error says the original's notes may not be read (ServiceNow: an ACL on `sys_journal_field`,
/// common for integration users; Jira: no permission to browse comments). The connectors map 401 and 403
/// to [`ConnectorError::Auth`] with the status; 403 is "authenticated, but not allowed".
pub(super) fn notes_denied(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Auth { status: 403, .. })
}

/// Post `text` (plus the note's reference) on the original `c.source_key`, at most once across crashes.
///
/// Where the notes can be read, they are the truth: the note is posted unless one carries its reference.
/// Where reading them is denied (403), a marker label on the original (read back with `get`; in
/// ServiceNow a hashtag line of the description) confirms the note, written in this order:
///
/// 1. `sent` is recorded in the outbox (the note may go out from here on);
/// 2. the note is posted;
/// 3. the marker [`Note::marker`] is added to the original;
/// 4. the caller records the note as done (and clears `sent`).
///
/// A re-run finding the marker knows the note is there (1 of 1). Without the marker and without `sent`,
/// nothing was sent, and it posts. Without the marker but with `sent`, the process died (or the
/// tracker's answer was lost) between 1 and 3: the note may be there, and nobody can read it, so it is
/// not sent again; the marker is written to settle it and the audit log says the note may be missing.
/// That window (one request in flight) is the only one in which a note can be lost; no note is ever
/// posted twice.
pub(super) async fn post_once(
    ctx: &Ctx<'_>,
    c: &Correction,
    source: &AnyConnector,
    note: Note<'_>,
    text: &str,
) -> Result<Posted, OutboxError> {
    let key = note.item(c);
    let reference = note.reference(c);
    let text = format!("{text}\n{reference}");
    let (before, after, after_marker) = note.failpoints();
    let marker = match source.notes(key).await {
        Ok(notes) => {
            if !notes.iter().any(|n| n.contains(&reference)) {
                hit(before);
                source.comment(key, &text, NoteVisibility::Public).await?;
                hit(after);
            }
            return Ok(Posted::Yes);
        }
        Err(e) if notes_denied(&e) => {
            journal_denied_once(source.name(), &e);
            note.marker(c)
        }
        Err(e) => return Err(e.into()),
    };
    if source.get(key).await?.has_label(&marker) {
        return Ok(Posted::Yes);
    }
    // The outbox as stored: `c` may predate a `sent` recorded by an earlier attempt of this run.
    let sent = ctx.outbox.get(&c.id)?.is_some_and(|stored| note.sent(&stored.progress));
    let posted = if sent {
        let why = format!(
            "the note {reference} may be missing: its sending was interrupted and {}'s notes cannot be read \
             (HTTP 403), so it was not sent again",
            key
        );
        tracing::warn!(correction = %c.id, tracker = %c.source_tracker, source = %key, "{why}");
        Posted::Uncertain(why)
    } else {
        hit(before);
        ctx.outbox.record(&c.id, None, |c| note.set_sent(&mut c.progress, true))?;
        if let Err(e) = source.comment(key, &text, NoteVisibility::Public).await {
            // Any answer but an unknown outcome says the note was not written.
            if !matches!(e, ConnectorError::Unknown { .. }) {
                ctx.outbox.record(&c.id, None, |c| note.set_sent(&mut c.progress, false))?;
            }
            return Err(e.into());
        }
        hit(after);
        Posted::Yes
    };
    source.add_label(key, &marker).await?;
    hit(after_marker);
    Ok(posted)
}

/// Say once per tracker and process that its notes cannot be read, and what is done instead.
fn journal_denied_once(tracker: &str, error: &ConnectorError) {
    static TOLD: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut told = TOLD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if told.iter().any(|t| t == tracker) {
        return;
    }
    told.push(tracker.to_string());
    tracing::warn!(
        tracker,
        %error,
        "the notes of {tracker}'s items cannot be read (ServiceNow: no read access to sys_journal_field); \
         each note twotrack leaves on an original is confirmed by a marker label `twotrack-told-<correction>` \
         on it instead (in ServiceNow a hashtag line of the description). Grant read access to the journal \
         to drop the markers"
    );
}

/// The longest resolution notes a follow-back passes on (the rest is cut, with "...").
const MAX_NOTES: usize = 2000;

/// What the reporter of the original is told once its twin is closed: how it was resolved (the Jira
/// resolution, the ServiceNow close code) and what its resolver wrote, or that it was returned as not
/// belonging where twotrack put it.
pub(super) fn followback_text(twin: &Item, returned: bool, url: &str, notes: Option<&str>) -> String {
    let resolution = twin.resolution().map(|r| format!("; resolution: {r}")).unwrap_or_default();
    let text = if returned {
        format!(
            "Update: {} ({url}), where this item was moved, was returned as not belonging there (status: {}{resolution}). \
             This item is where it belongs after all: reopen it if the request still stands.",
            twin.key, twin.status
        )
    } else {
        format!(
            "Update: {} ({url}), where this item was moved, has been resolved (status: {}{resolution}).",
            twin.key, twin.status
        )
    };
    text + &notes_line(notes)
}

/// The resolver's notes as a follow-back passes them on (cut at [`MAX_NOTES`]), on a line of their own;
/// empty without notes.
pub(super) fn notes_line(notes: Option<&str>) -> String {
    let Some(notes) = notes.map(str::trim).filter(|n| !n.is_empty()) else { return String::new() };
    let cut: String = notes.chars().take(MAX_NOTES).collect();
    let more = if cut.len() < notes.len() { " ..." } else { "" };
    format!("\nResolution notes: {cut}{more}")
}

/// The twin's last comment written by a person, as its resolution notes where the tracker has no field
/// for them (Jira, whose comments a reporter may read). ServiceNow journals hold work notes, internal to
/// the agents: nothing is taken from them.
pub(super) async fn last_human_comment(ctx: &Ctx<'_>, tracker: &str, key: &str) -> Result<Option<String>, OutboxError> {
    if ctx.config.tracker(tracker).is_none_or(|t| t.kind() != twotrack_api::TrackerKind::Jira) {
        return Ok(None);
    }
    let notes = connector(ctx, tracker)?.notes(key).await?;
    Ok(notes.into_iter().rev().find(|n| !is_ours(n)))
}

/// Whether a note is one twotrack wrote (a reference, a link note, the derivation of a priority).
pub(super) fn is_ours(note: &str) -> bool {
    let t = note.trim_start();
    note.contains("(twotrack ref ")
        || note.contains("(twotrack copy ")
        || t.starts_with("twotrack:")
        || t.contains("by twotrack")
}
