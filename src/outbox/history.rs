//! The history of a move: the original's comments travel to its twin, each once, public comments as
//! public comments and internal ones (ServiceNow `work_notes`, Jira Service Management internal comments)
//! as internal ones, each with who wrote it and when.
//!
//! Each copy ends with a marker naming the comment it copies, `(twotrack copy <tracker>:<key>#<id>)`, and
//! the twin's notes are read before anything is posted: a copy whose marker is there is not posted again,
//! so a crash or a lost answer between two copies never doubles one (a note is posted at most once per
//! attempt, and every attempt starts from the twin's notes as they are). Where either side's notes cannot
//! be read (HTTP 403, e.g. ServiceNow's `sys_journal_field` denied), nothing is copied and the item's
//! history says so: a copy that could not be checked is never risked twice.

use twotrack_api::connector::{NoteVisibility, Remark};
use twotrack_api::{Connector, ConnectorError};

use super::failpoint::hit;
use super::saga::{is_ours, notes_denied};
use super::{Correction, OutboxError};
use crate::registry::AnyConnector;

/// The marker a copy of `remark` (a comment of `c`'s original) ends with.
fn marker(c: &Correction, remark: &Remark) -> String {
    format!("(twotrack copy {}:{}#{})", c.source_tracker, c.source_key, remark.id)
}

/// The text of the copy: who wrote it and when, the text, the marker.
fn copy_text(c: &Correction, remark: &Remark) -> String {
    let who = remark.author.as_deref().unwrap_or("someone");
    let when = remark.created.map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
    let kind = if remark.internal { "internal note" } else { "comment" };
    format!("{kind} by {who}{when}, copied from {}:\n\n{}\n{}", c.source_key, remark.text.trim(), marker(c, remark))
}

/// Copy the comments of `c`'s original (in `source`) to its twin `twin` (in `target`), each once. Returns
/// what was done, for the item's history.
pub(super) async fn carry(
    c: &Correction,
    source: &AnyConnector,
    target: &AnyConnector,
    twin: &str,
) -> Result<String, OutboxError> {
    let remarks = match source.remarks(&c.source_key).await {
        Ok(remarks) => remarks,
        Err(e) if notes_denied(&e) => return Ok(denied(&c.source_key, &e)),
        Err(e) => return Err(e.into()),
    };
    let remarks: Vec<Remark> = remarks.into_iter().filter(|r| !r.text.trim().is_empty() && !is_ours(&r.text)).collect();
    if remarks.is_empty() {
        return Ok("no comments to carry".into());
    }
    let present = match target.notes(twin).await {
        Ok(notes) => notes,
        Err(e) if notes_denied(&e) => return Ok(denied(twin, &e)),
        Err(e) => return Err(e.into()),
    };
    let mut copied = 0;
    for remark in &remarks {
        if present.iter().any(|n| n.contains(&marker(c, remark))) {
            continue;
        }
        let visibility = if remark.internal { NoteVisibility::Internal } else { NoteVisibility::Public };
        hit("before-copy-comment");
        target.comment(twin, &copy_text(c, remark), visibility).await?;
        hit("after-copy-comment");
        copied += 1;
    }
    Ok(format!(
        "carried {} of the original's comments to the twin ({copied} now, {} before)",
        remarks.len(),
        remarks.len() - copied
    ))
}

fn denied(key: &str, e: &ConnectorError) -> String {
    format!("the comments were not carried: the notes of {key} cannot be read ({e})")
}
