//! The storm saga: one parent incident for the reports of one event, each report attached once
//! ([`crate::plan::storm`] says how). One correction per storm, `storm:<tracker>:<key>` of its first
//! report, stored in the outbox before any remote write; every step is recorded once the tracker
//! confirmed it, and every step is safe to run again after a crash:
//!
//! | step | remote call | why re-running it is safe |
//! |---|---|---|
//! | a. adopt | find the parent by its origin (`storm-<first report>`) | a read; a parent created by an attempt that died before recording it is adopted |
//! | b. create | create the parent | only after (a) found none in the same attempt; recorded as sent before the request (`create_sent`) |
//! | c. read | read the report | a read; a report closed, kept or created by twotrack before anything was written to it is left alone |
//! | d. attach | child: `parent_incident` (ServiceNow) / a link (Jira); else a link | idempotent: nothing is written when it is set |
//! | e. tell | a public note on a report in the product backlog | the note's reference (or marker) is looked for first, as in the move saga |
//! | f. close | close that report | skipped when it is closed already; read back to confirm |
//! | h. joined | a work note on the parent listing the reports that joined a grown storm | the parent's notes are read first and the reports a note of this storm names are not listed again; where they cannot be read, recorded as sent first and never sent twice |
//! | g. done | (local) | all reports attached; the record and its audit-log entry in one transaction |
//!
//! Growth: a storm planned again with reports its correction does not hold yet (new reports, or a report
//! of a later cycle) is re-armed with them ([`merge`]): its recorded parent stays, only the new reports
//! are attached. A storm is recognised as the same one through any report it holds (its first report may
//! have been closed since), so a growing storm never gets a second parent.
//!
//! A storm counts as one correction for `policy.max_moves` and for the circuit breaker (its reports are
//! one event; the breaker guards against a rule gone wrong, which a storm is not).
//!
//! Follow-back ([`follow_back`]): once the parent is resolved (as the mirror holds it after a sync), the
//! reporter of each report closed into the storm (a report of the product backlog) is told, once, how the
//! parent was resolved and its resolution notes, as the reporter of a moved original is (`post_once`, its
//! reference `followback:<correction>:<key>`). The reports that stay open beside the parent (children and
//! linked items of the service queue) are resolved with it where they are and get no note.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use twotrack_api::Connector;
use twotrack_api::connector::{Created, OriginRef};

use super::failpoint::hit;
use super::saga::{
    Note, Posted, connector, create_once, entry, exemption, find_made, last_human_comment, notes_line, post_once,
};
use super::{Correction, Ctx, Outbox, OutboxError, Planned2, Progress, State};
use crate::classify::Classifier;
use crate::config::Config;
use crate::mirror::{Mirror, MirrorError};
use crate::plan::storm::{Attach, MemberPlan, parent_origin, plan_storm};
use crate::plan::{ItemKeys, fill};
use crate::storm::{Storm, largest_stated, prioritise};

/// What was confirmed for one report of a storm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProgress {
    /// Attached to the parent (child or link).
    pub attached: bool,
    pub commented: bool,
    /// The note was sent where the notes cannot be read, not confirmed yet (see `saga::post_once`).
    #[serde(default)]
    pub note_sent: bool,
    pub closed: bool,
    /// Nothing is left to do for it (attached, or left alone: see `skipped`).
    pub done: bool,
    /// Why it was left alone (closed, kept, created by twotrack) before anything was written to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// A report closed into the storm: its reporter was told how the parent was resolved.
    #[serde(default)]
    pub followed_back: bool,
    /// That follow-back was sent where the notes cannot be read, not confirmed yet (see `saga::post_once`).
    #[serde(default)]
    pub followback_sent: bool,
    /// A report that joined a grown storm: the parent's work note lists it.
    #[serde(default)]
    pub announced: bool,
    /// That work note was sent where the parent's notes cannot be read, not confirmed (never sent again).
    #[serde(default)]
    pub announce_sent: bool,
}

/// What the planner knows of one open item that may be a storm's report.
#[derive(Debug, Clone, Default)]
pub(super) struct Fact {
    /// Closed, kept, created by twotrack, or reopened after a move: never touched.
    pub exempt: bool,
    /// The queue the classifier puts it in.
    pub queue: Option<String>,
}

/// The storm corrections stored so far, by the reports they hold: (tracker, key) -> correction id.
pub(super) fn stored(outbox: &Outbox) -> Result<HashMap<(String, String), String>, MirrorError> {
    let mut out = HashMap::new();
    for c in outbox.all() {
        let c = c?;
        if let Planned2::Storm { members, .. } = &c.action {
            for m in members {
                out.insert((m.tracker.clone(), m.key.clone()), c.id.clone());
            }
        }
    }
    Ok(out)
}

/// The corrections of `storms`: one per storm with reports to attach, under the id of the stored storm
/// correction that holds any of its reports (growth), else `storm:<tracker>:<key>` of its first report.
/// Returns them with every report they (or the stored ones) cover: those get no correction of their own.
pub(super) fn corrections(
    config: &Config,
    mirror: &Mirror,
    classifier: &Classifier,
    storms: &[Storm],
    facts: &HashMap<(String, String), Fact>,
    stored: &HashMap<(String, String), String>,
    selected: impl Fn(&str, &str) -> bool,
) -> Result<(Vec<Correction>, ItemKeys), MirrorError> {
    let mut covered = ItemKeys::default();
    for (tracker, key) in stored.keys() {
        covered.insert(tracker, key);
    }
    let mut out = Vec::new();
    for storm in storms {
        if !storm.members.iter().any(|m| selected(&m.tracker, &m.key)) {
            continue;
        }
        let fact = |m: &crate::storm::Member| facts.get(&(m.tracker.clone(), m.key.clone()));
        let members: Vec<_> = storm.members.iter().filter(|m| fact(m).is_some_and(|f| !f.exempt)).collect();
        let stated = largest_stated(storm, |m| {
            Ok::<_, MirrorError>(mirror.get(&m.tracker, &m.key)?.and_then(|item| classifier.affected_count(&item)))
        })?;
        let mut queues: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &storm.members {
            if let Some(q) = fact(m).and_then(|f| f.queue.as_deref()) {
                *queues.entry(q).or_default() += 1;
            }
        }
        let queue = queues.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0))).map(|(q, _)| *q);
        let group = queue.and_then(|q| config.queues.iter().find(|s| s.name == q)).map(|s| s.group.clone());
        let priority = prioritise(storm, stated, &config.storm, &config.priority);
        let Some(plan) = plan_storm(config, storm, &priority, &members, group) else { continue };
        let (tracker, key) = &plan.anchor;
        let id = members
            .iter()
            .find_map(|m| stored.get(&(m.tracker.clone(), m.key.clone())))
            .cloned()
            .unwrap_or_else(|| super::id_pieces(super::CorrectionKind::Storm.as_str(), tracker, key).concat());
        for m in &storm.members {
            covered.insert(&m.tracker, &m.key);
        }
        let updated = storm.members.iter().filter_map(|m| fact(m).map(|_| m.created)).max().unwrap_or(storm.last);
        out.push(Correction {
            id,
            created_at: Utc::now(),
            source_tracker: tracker.clone(),
            source_key: key.clone(),
            source_updated: updated,
            action: Planned2::Storm {
                service_tracker: plan.service_tracker,
                parent: Box::new(plan.parent),
                priority: plan.priority,
                members: plan.members,
            },
            state: State::Pending,
            progress: Progress::default(),
            attempts: 0,
            last_error: None,
        });
    }
    Ok((out, covered))
}

/// The reports of a planned storm correction that the stored one does not hold yet.
fn new_members<'a>(planned: &'a Correction, stored: &Correction) -> Vec<&'a MemberPlan> {
    let (Planned2::Storm { members, .. }, Planned2::Storm { members: held, .. }) = (&planned.action, &stored.action)
    else {
        return Vec::new();
    };
    members.iter().filter(|m| !held.iter().any(|h| h.tracker == m.tracker && h.key == m.key)).collect()
}

/// Whether a planned storm correction brings reports the stored one (done, or dropped) does not hold: the
/// storm grew, and its new reports are attached to the same parent.
pub fn grows(planned: &Correction, stored: &Correction) -> bool {
    matches!(stored.state, State::Done { .. } | State::Dropped { .. }) && !new_members(planned, stored).is_empty()
}

/// Enqueue a storm correction: stored as planned when new; a stored one takes the reports it does not hold
/// yet and, when done or dropped, is pending again (its parent and the progress of the others stay). A
/// cancelled or parked one is left as it is. Returns whether anything changed.
pub(super) fn merge(outbox: &Outbox, c: &Correction) -> Result<bool, MirrorError> {
    let mut changed = false;
    outbox.records.update_and_log(&c.id, &outbox.audit, |current: Option<Correction>| {
        let Some(mut stored) = current else {
            changed = true;
            let e = entry(c, "planned", None, &super::describe(&c.action));
            return (Some(c.clone()), Some(e));
        };
        let added: Vec<MemberPlan> =
            new_members(c, &stored).into_iter().map(|m| MemberPlan { joined: true, ..m.clone() }).collect();
        let rearm = matches!(stored.state, State::Pending | State::Done { .. } | State::Dropped { .. });
        if added.is_empty() || !rearm {
            changed = false;
            return (Some(stored), None);
        }
        changed = true;
        let keys: Vec<&str> = added.iter().map(|m| m.key.as_str()).collect();
        let detail = format!("the storm grew: {} more report(s) to attach ({})", added.len(), keys.join(", "));
        if let Planned2::Storm { members, .. } = &mut stored.action {
            members.extend(added.iter().cloned());
        }
        stored.state = State::Pending;
        stored.attempts = 0;
        stored.last_error = None;
        let e = entry(&stored, "grown", None, &detail);
        (Some(stored), Some(e))
    })?;
    outbox.mirror.flush()?;
    Ok(changed)
}

/// Run a storm correction to done.
pub(super) async fn run(ctx: &Ctx<'_>, mut c: Correction) -> Result<State, OutboxError> {
    let Planned2::Storm { service_tracker, parent, members, .. } = c.action.clone() else { return Ok(c.state) };
    let service = connector(ctx, &service_tracker)?;

    if c.progress.twin.is_none() {
        // a. A parent created for this storm already (by an attempt that died before recording it)?
        let origin = parent.origin.as_ref().map_or_else(|| parent_origin(&c.source_key), |o| o.key.clone());
        hit("storm-before-find");
        let found = find_made(&c, &service, &origin).await?;
        hit("storm-after-find");
        let (created, event) = match found.into_iter().next() {
            Some(p) => (Created { key: p.key, id: p.id, url: p.url }, "adopted"),
            None => {
                // b. Create it; recorded as sent first: until the tracker answers, a parent may exist.
                let created = create_once(ctx, &c, &service, &parent, "storm-before-create").await?;
                hit("storm-after-create");
                (created, "created")
            }
        };
        let tag = Some(format!("{service_tracker}:{}", created.key));
        let detail = format!("the parent incident of the storm: {}", created.url);
        let cr = created.clone();
        ctx.outbox.record(&c.id, Some(entry(&c, event, tag, &detail)), |c| {
            c.progress.twin = Some(cr.clone());
            c.progress.create_sent = false;
        })?;
        tracing::info!(correction = %c.id, parent = %created.key, "storm parent {event}");
        c.progress.twin = Some(created);
    }
    let Some(created) = c.progress.twin.clone() else { return Ok(c.state) };
    let parent_ref = OriginRef {
        tracker: service_tracker.clone(),
        key: created.key.clone(),
        url: created.url.clone(),
        summary: parent.summary.clone(),
    };
    let tag = Some(format!("{service_tracker}:{}", created.key));

    let mut attached = 0;
    for m in &members {
        let id = m.id();
        let p = c.progress.members.get(&id).cloned().unwrap_or_default();
        if p.done {
            attached += usize::from(p.skipped.is_none());
            continue;
        }
        let conn = connector(ctx, &m.tracker)?;
        // c. The report as it is now.
        let fresh = conn.get(&m.key).await?;
        ctx.outbox.mirror.upsert_item(&fresh)?;
        let kept = fresh.open && fresh.has_label(&ctx.config.policy.keep_label);
        let left_alone =
            if p.attached { kept.then(|| format!("{} got the keep marker", m.key)) } else { exemption(ctx, &fresh) };
        if let Some(reason) = left_alone {
            let detail = format!("{}: left alone ({reason})", m.key);
            let e = entry(&c, "skipped", tag.clone(), &detail);
            let reason2 = reason.clone();
            record_member(ctx, &mut c, &id, Some(e), move |p| {
                p.done = true;
                p.skipped = Some(reason2.clone());
            })?;
            continue;
        }
        // d. Attach.
        if !p.attached {
            hit("storm-before-attach");
            match m.attach {
                Attach::Child => conn.set_parent(&m.key, &parent_ref).await?,
                Attach::Linked | Attach::Gathered => conn.link(&m.key, &parent_ref).await?,
            }
            hit("storm-after-attach");
            let how = match m.attach {
                Attach::Child => "a child of",
                Attach::Linked | Attach::Gathered => "linked to",
            };
            let e = entry(&c, "attached", tag.clone(), &format!("{} is {how} the parent", m.key));
            let done = m.attach != Attach::Gathered;
            record_member(ctx, &mut c, &id, Some(e), move |p| {
                p.attached = true;
                p.done = done;
            })?;
            if done {
                attached += 1;
                continue;
            }
        }
        // e. Tell its reporter, once.
        if !p.commented
            && let Some(note) = &m.note
        {
            let text = fill(note, &created.key, &created.url);
            let detail =
                match post_once(ctx, &c, &conn, Note::Storm { tracker: &m.tracker, key: &m.key }, &text).await? {
                    Posted::Yes => format!("told the reporter of {}", m.key),
                    Posted::Uncertain(why) => why,
                };
            let e = entry(&c, "commented", tag.clone(), &detail);
            record_member(ctx, &mut c, &id, Some(e), |p| {
                p.commented = true;
                p.note_sent = false;
            })?;
        }
        // f. Close it as handled by the parent, and read it back.
        if fresh.open {
            let close_note = m.close_note.as_deref().map(|n| fill(n, &created.key, &created.url)).unwrap_or_default();
            hit("storm-before-close");
            conn.close(&m.key, &close_note).await?;
            hit("storm-after-close");
            let after = conn.get(&m.key).await?;
            if after.open {
                return Err(OutboxError::NotClosed {
                    tracker: m.tracker.clone(),
                    key: m.key.clone(),
                    status: after.status,
                });
            }
            ctx.outbox.mirror.upsert_item(&after)?;
        }
        let e = entry(&c, "closed", tag.clone(), &format!("closed {} as handled by the parent", m.key));
        record_member(ctx, &mut c, &id, Some(e), |p| {
            p.closed = true;
            p.done = true;
        })?;
        attached += 1;
    }

    // h. The parent hears which reports joined since its last note (growth), once per joining set.
    announce_joined(ctx, &mut c, &service, &created, &members, tag.clone()).await?;

    // g. Done.
    hit("storm-before-done");
    let state = State::Done { at: Utc::now() };
    let s = state.clone();
    let detail = format!("{attached} report(s) gathered under {}", created.key);
    ctx.outbox.record(&c.id, Some(entry(&c, "done", tag, &detail)), |c| c.state = s.clone())?;
    tracing::info!(correction = %c.id, parent = %created.key, attached, "storm done");
    Ok(state)
}

/// Record a step of one report (and keep the local copy in step).
fn record_member(
    ctx: &Ctx<'_>,
    c: &mut Correction,
    id: &str,
    e: Option<super::AuditEntry>,
    f: impl Fn(&mut MemberProgress),
) -> Result<(), OutboxError> {
    ctx.outbox.record(&c.id, e, |c| f(c.progress.members.entry(id.to_string()).or_default()))?;
    f(c.progress.members.entry(id.to_string()).or_default());
    Ok(())
}

/// Tell the reporter of each report a storm closed, once, how its parent was resolved. One storm that
/// cannot be reached does not hold up the others; the first error is returned after all were tried.
/// Returns how many reporters were told.
pub(super) async fn follow_back(ctx: &Ctx<'_>) -> Result<usize, OutboxError> {
    let storms: Vec<Correction> = ctx
        .outbox
        .all()
        .filter_map(|c| c.ok())
        .filter(|c| matches!(c.action, Planned2::Storm { .. }) && c.progress.twin.is_some())
        .collect();
    let (mut told, mut first_error) = (0, None);
    for c in storms {
        match follow_back_storm(ctx, &c).await {
            Ok(n) => told += n,
            Err(e) => {
                tracing::warn!(correction = %c.id, error = %e, "storm follow-back failed; it is tried again next cycle");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(told),
    }
}

/// The follow-back of one storm whose parent is resolved: each report it closed and has not told yet.
async fn follow_back_storm(ctx: &Ctx<'_>, c: &Correction) -> Result<usize, OutboxError> {
    let (Some(parent), Planned2::Storm { service_tracker, members, .. }) = (&c.progress.twin, &c.action) else {
        return Ok(0);
    };
    let waiting: Vec<&MemberPlan> = members
        .iter()
        .filter(|m| m.attach == Attach::Gathered)
        .filter(|m| c.progress.members.get(&m.id()).is_some_and(|p| p.closed && !p.followed_back))
        .collect();
    if waiting.is_empty() {
        return Ok(0);
    }
    // The mirror knows the parent's state after a sync; only a resolved parent needs a call.
    let Some(resolved) = ctx.outbox.mirror.get(service_tracker, &parent.key)?.filter(|p| !p.open) else {
        return Ok(0);
    };
    let notes = match resolved.resolution_notes() {
        Some(n) => Some(n.to_string()),
        None => last_human_comment(ctx, service_tracker, &parent.key).await?,
    };
    let text = followback_text(&resolved, &parent.url, notes.as_deref());
    let tag = Some(format!("{service_tracker}:{}", parent.key));
    let mut told = 0;
    for m in waiting {
        let conn = connector(ctx, &m.tracker)?;
        let note = Note::StormFollowBack { tracker: &m.tracker, key: &m.key };
        let detail = match post_once(ctx, c, &conn, note, &text).await? {
            Posted::Yes => format!("told the reporter of {} how the parent was resolved", m.key),
            Posted::Uncertain(why) => why,
        };
        let e = entry(c, "followed-back", tag.clone(), &detail);
        ctx.outbox.record(&c.id, Some(e), |c| {
            let p = c.progress.members.entry(m.id()).or_default();
            p.followed_back = true;
            p.followback_sent = false;
        })?;
        told += 1;
    }
    Ok(told)
}

/// What the reporter of a report closed into a storm is told once the parent is resolved.
fn followback_text(parent: &twotrack_api::Item, url: &str, notes: Option<&str>) -> String {
    let resolution = parent.resolution().map(|r| format!("; resolution: {r}")).unwrap_or_default();
    format!(
        "Update: {} ({url}), the incident your report was gathered under with the other reports of the same \
         event, has been resolved (status: {}{resolution}).",
        parent.key, parent.status
    ) + &notes_line(notes)
}

/// What starts the reference of a storm's note about joined reports; the keys it lists follow it.
fn joined_reference(c: &Correction) -> String {
    format!("(twotrack ref joined:{}:", c.id)
}

/// Step (h): one work note on the parent naming the reports that joined the storm after it was created
/// and are attached now, unless a note of this storm names them already (a crash after the note). Where
/// the parent's notes cannot be read (403), each report is recorded as announced-sent before the note
/// goes out, and a report recorded so is never announced again.
async fn announce_joined(
    ctx: &Ctx<'_>,
    c: &mut Correction,
    service: &crate::registry::AnyConnector,
    parent: &Created,
    members: &[MemberPlan],
    tag: Option<String>,
) -> Result<(), OutboxError> {
    let attached =
        |m: &MemberPlan| c.progress.members.get(&m.id()).is_some_and(|p| p.done && p.skipped.is_none() && !p.announced);
    let mut pending: Vec<&MemberPlan> = members.iter().filter(|m| m.joined && attached(m)).collect();
    if pending.is_empty() {
        return Ok(());
    }
    let reference = joined_reference(c);
    let sent = match service.notes(&parent.key).await {
        Ok(notes) => {
            let named: HashSet<&str> = notes
                .iter()
                .filter_map(|n| n.split_once(&reference).map(|(_, rest)| rest))
                .flat_map(|rest| rest.split(|ch: char| ch == ')' || ch.is_whitespace()).take_while(|k| !k.is_empty()))
                .collect();
            pending.retain(|m| !named.contains(m.id().as_str()));
            false
        }
        Err(twotrack_api::ConnectorError::Auth { status: 403, .. }) => {
            let was_sent = pending.iter().any(|m| c.progress.members.get(&m.id()).is_some_and(|p| p.announce_sent));
            if !was_sent {
                let ids: Vec<String> = pending.iter().map(|m| m.id()).collect();
                ctx.outbox.record(&c.id, None, |c| {
                    for id in &ids {
                        c.progress.members.entry(id.clone()).or_default().announce_sent = true;
                    }
                })?;
            }
            was_sent
        }
        Err(e) => return Err(e.into()),
    };
    let ids: Vec<String> = pending.iter().map(|m| m.id()).collect();
    if !pending.is_empty() && !sent {
        let mut text = format!(
            "twotrack: {} more report(s) of the same event joined this incident since it was created or last told:\n",
            pending.len()
        );
        for m in &pending {
            text += &format!("- {} {}: {} {}\n", m.tracker, m.key, m.summary, m.url);
        }
        text += &format!("{reference}{})", ids.join(" "));
        hit("storm-before-joined");
        if let Err(e) = service.comment(&parent.key, &text, twotrack_api::connector::NoteVisibility::Internal).await {
            // Any answer but an unknown outcome says the note was not written: it may be sent again.
            if !matches!(e, twotrack_api::ConnectorError::Unknown { .. }) {
                ctx.outbox.record(&c.id, None, |c| {
                    for id in &ids {
                        c.progress.members.entry(id.clone()).or_default().announce_sent = false;
                    }
                })?;
            }
            return Err(e.into());
        }
        hit("storm-after-joined");
    }
    let everyone: Vec<String> = members.iter().filter(|m| m.joined && attached(m)).map(|m| m.id()).collect();
    let keys: Vec<&str> = members.iter().filter(|m| m.joined && attached(m)).map(|m| m.key.as_str()).collect();
    let detail = format!("the parent names the report(s) that joined: {}", keys.join(", "));
    let e = entry(c, "joined", tag, &detail);
    ctx.outbox.record(&c.id, Some(e), |c| {
        for id in &everyone {
            let p = c.progress.members.entry(id.clone()).or_default();
            p.announced = true;
            p.announce_sent = false;
        }
    })?;
    for id in &everyone {
        let p = c.progress.members.entry(id.clone()).or_default();
        p.announced = true;
        p.announce_sent = false;
    }
    Ok(())
}
