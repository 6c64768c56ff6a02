//! The audit log of one item as text: what `twotrack history KEY` prints and the daemon serves.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::outbox::AuditEntry;

/// One line per entry, oldest first; a sentence when there is none.
pub fn render(key: &str, entries: &[(DateTime<Utc>, AuditEntry)]) -> String {
    if entries.is_empty() {
        return format!("No twotrack history for {key}.\n");
    }
    let mut out = String::new();
    for (at, e) in entries {
        let twin = e.twin.as_deref().map(|t| format!(" -> {t}")).unwrap_or_default();
        let _ = writeln!(out, "{}  {:<13} {}{twin}  {}", at.format("%Y-%m-%d %H:%M:%S"), e.event, e.source, e.detail);
    }
    out
}
