//! The files of a move: the original's attachments travel to its twin, each once, each checked.
//!
//! The twin's attachments are listed before anything is uploaded, and a file is copied only while the
//! twin holds fewer files of its name and size than the original does, so a crash or a lost answer
//! between two uploads never doubles one (an upload is sent at most once per attempt, and every attempt
//! starts from the twin's files as they are). Each copy is checked against the SHA-256 of the original's
//! bytes: by the hash the target reports where it reports one (ServiceNow), else by reading the copy
//! back (Jira); so is a copy found on the twin by an attempt after a crash. A copy that differs fails the
//! move with an error that says so: it is never skipped, nor sent again next to the bad one.
//!
//! Files above `policy.attachment_max_bytes` are not copied (never more than that is read into memory),
//! and a file or a list of files that cannot be read (HTTP 403 on ServiceNow's `sys_attachment` is common
//! for integration users) never fails the move: the twin gets one note, marked
//! `(twotrack attachments <tracker>:<key>)` and posted only when no note of the twin carries that marker,
//! naming the files left behind and where to find them.

use sha2::{Digest, Sha256};
use twotrack_api::Connector;
use twotrack_api::connector::{Attachment, Download, NoteVisibility};

use super::failpoint::hit;
use super::saga::notes_denied;
use super::{Correction, OutboxError};
use crate::registry::AnyConnector;

/// What the step needs besides the correction: the two connectors, the twin, the size limit.
pub(super) struct Carry<'a> {
    pub c: &'a Correction,
    pub source: &'a AnyConnector,
    pub target: &'a AnyConnector,
    pub twin: &'a str,
    /// `policy.attachment_max_bytes` (0: none is copied).
    pub limit: u64,
}

/// A file that stays behind, and why.
struct LeftBehind {
    name: String,
    why: String,
    url: Option<String>,
}

impl LeftBehind {
    fn of(file: &Attachment, why: String) -> LeftBehind {
        LeftBehind { name: file.file_name.clone(), why, url: file.url.clone() }
    }
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The marker the twin's note about files left behind ends with.
fn note_marker(c: &Correction) -> String {
    format!("(twotrack attachments {}:{})", c.source_tracker, c.source_key)
}

impl Carry<'_> {
    /// Copy the original's attachments to the twin, each once. Returns what was done, for the item's history.
    pub(super) async fn run(&self) -> Result<String, OutboxError> {
        if self.limit == 0 {
            return Ok("attachments are not copied (policy.attachment_max_bytes = 0)".into());
        }
        let files = match self.source.attachments(&self.c.source_key).await {
            Ok(files) => files,
            Err(e) => {
                let why = format!("the attachments of {} could not be read ({e})", self.c.source_key);
                return self.tell(&why, &[]).await;
            }
        };
        if files.is_empty() {
            return Ok("no attachments to copy".into());
        }
        let mut present = match self.target.attachments(self.twin).await {
            Ok(present) => present,
            Err(e) if notes_denied(&e) => {
                let why = format!("the attachments of the twin {} cannot be read, so none was copied ({e})", self.twin);
                return self.tell(&why, &[]).await;
            }
            Err(e) => return Err(e.into()),
        };
        let (mut copied, mut before, mut left) = (0, 0, Vec::new());
        for file in &files {
            if file.size > self.limit {
                left.push(self.too_large(file));
                continue;
            }
            let bytes = match self.source.download(&self.c.source_key, file, self.limit).await {
                Ok(Download::Complete(bytes)) => bytes,
                Ok(Download::TooLarge) => {
                    left.push(self.too_large(file));
                    continue;
                }
                Err(e) => {
                    left.push(LeftBehind::of(file, format!("could not be read ({e})")));
                    continue;
                }
            };
            let sha = sha256_hex(&bytes);
            // A copy made before (by an attempt that died after it): the twin holds it already.
            if let Some(at) = present.iter().position(|p| p.file_name == file.file_name && p.size == bytes.len() as u64)
            {
                let copy = present.swap_remove(at);
                self.verify(&copy, bytes.len(), &sha).await?;
                before += 1;
                continue;
            }
            hit("before-copy-attachment");
            let len = bytes.len();
            let copy = match self.target.attach(self.twin, &file.file_name, file.mime_or_default(), bytes).await {
                Ok(copy) => copy,
                Err(e) if notes_denied(&e) => {
                    left.push(LeftBehind::of(file, format!("could not be attached to the twin ({e})")));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            hit("after-copy-attachment");
            self.verify(&copy, len, &sha).await?;
            copied += 1;
        }
        let mut detail = format!(
            "copied {} of the original's {} attachments to the twin ({copied} now, {before} before)",
            copied + before,
            files.len()
        );
        if !left.is_empty() {
            detail += "; ";
            detail += &self.tell("some attachments were not copied", &left).await?;
        }
        Ok(detail)
    }

    fn too_large(&self, file: &Attachment) -> LeftBehind {
        LeftBehind::of(file, format!("{} bytes, above policy.attachment_max_bytes = {}", file.size, self.limit))
    }

    /// Check a copy on the twin (just uploaded, or found there) against the original's `len` bytes of
    /// SHA-256 `sha`: its size, and its content by the hash the target reports, else read back.
    async fn verify(&self, copy: &Attachment, len: usize, sha: &str) -> Result<(), OutboxError> {
        if copy.size != len as u64 {
            return Err(self.mismatch(copy, format!("{} bytes where the original has {len}", copy.size)));
        }
        let theirs = match &copy.sha256 {
            Some(reported) => reported.clone(),
            None => match self.target.download(self.twin, copy, copy.size).await? {
                Download::Complete(bytes) => sha256_hex(&bytes),
                Download::TooLarge => return Err(self.mismatch(copy, "it is larger than the target reports".into())),
            },
        };
        if !theirs.eq_ignore_ascii_case(sha) {
            return Err(self.mismatch(copy, format!("SHA-256 {theirs} where the original's is {sha}")));
        }
        Ok(())
    }

    fn mismatch(&self, copy: &Attachment, detail: String) -> OutboxError {
        OutboxError::AttachmentMismatch {
            tracker: self.target.name().to_string(),
            twin: self.twin.to_string(),
            file: copy.file_name.clone(),
            detail,
        }
    }

    /// Leave the twin one note about attachments that were not copied (unless one is there), and return
    /// what happened, for the item's history.
    async fn tell(&self, headline: &str, left: &[LeftBehind]) -> Result<String, OutboxError> {
        let (c, marker) = (self.c, note_marker(self.c));
        let mut text = format!("twotrack: {headline}; find them on the original {}:{}", c.source_tracker, c.source_key);
        for file in left {
            text += &format!(
                "\n- {}: {}{}",
                file.name,
                file.why,
                file.url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default()
            );
        }
        text += &format!("\n{marker}");
        let names: Vec<&str> = left.iter().map(|f| f.name.as_str()).collect();
        let summary = if names.is_empty() { headline.to_string() } else { format!("{headline}: {}", names.join(", ")) };
        match self.target.notes(self.twin).await {
            Ok(notes) if notes.iter().any(|n| n.contains(&marker)) => Ok(format!("{summary} (the twin says so)")),
            Ok(_) => {
                self.target.comment(self.twin, &text, NoteVisibility::Internal).await?;
                hit("after-attachment-note");
                Ok(format!("{summary} (the twin says so)"))
            }
            Err(e) if notes_denied(&e) => {
                Ok(format!("{summary}; the twin was not told: its notes cannot be read ({e})"))
            }
            Err(e) => Err(e.into()),
        }
    }
}
