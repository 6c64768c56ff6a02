//! `twotrack outbox list`: the corrections in the outbox, as a table for a human or JSON for scripts.
//!
//! Like the audit report, the JSON is made of its own types with a `schema_version`, so the stored
//! corrections can change without breaking a script.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::outbox::control::StateName;
use crate::outbox::{Correction, CorrectionKind, Planned2, State, describe};

/// Bumped on any incompatible change to the JSON list.
pub const SCHEMA_VERSION: u32 = 1;

/// Output formats of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

/// The corrections shown, and what the outbox holds in all.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxList {
    pub schema_version: u32,
    pub generated_at: String,
    /// `policy.max_attempts`: failed runs in a row after which a correction is parked.
    pub max_attempts: u32,
    /// The states asked for (empty: every state).
    pub states: Vec<StateName>,
    /// Corrections in the outbox per state, whatever was asked for.
    pub totals: BTreeMap<StateName, usize>,
    pub corrections: Vec<OutboxRow>,
}

/// One correction.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    /// The id `outbox retry` and `outbox cancel` take.
    pub id: String,
    pub action: CorrectionKind,
    /// What it does, in one line.
    pub detail: String,
    /// `tracker:key` of the item corrected.
    pub source: String,
    /// Where it goes: the target tracker of a move (`tracker:key` once the twin exists), the group of a
    /// reroute, the priority of a reprioritisation.
    pub target: String,
    pub state: StateName,
    /// When it entered its state (absent while pending).
    pub state_since: Option<String>,
    /// Why it was dropped or cancelled.
    pub reason: Option<String>,
    /// Failed runs in a row (reset by `outbox retry`).
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: String,
    pub age_seconds: i64,
}

impl OutboxList {
    /// The list of `corrections` in `states` (all if empty), those that need an operator first.
    pub fn new(corrections: &[Correction], states: &[StateName], max_attempts: u32, now: DateTime<Utc>) -> OutboxList {
        let mut totals = BTreeMap::new();
        for c in corrections {
            *totals.entry(c.state.name()).or_default() += 1;
        }
        let mut shown: Vec<&Correction> =
            corrections.iter().filter(|c| states.is_empty() || states.contains(&c.state.name())).collect();
        shown.sort_by(|a, b| (a.state.name(), a.created_at, &a.id).cmp(&(b.state.name(), b.created_at, &b.id)));
        let mut states = states.to_vec();
        states.sort();
        states.dedup();
        OutboxList {
            schema_version: SCHEMA_VERSION,
            generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            max_attempts,
            states,
            totals,
            corrections: shown.into_iter().map(|c| row(c, now)).collect(),
        }
    }

    pub fn render(&self, format: ListFormat) -> Result<String, serde_json::Error> {
        match format {
            ListFormat::Text => Ok(self.text()),
            ListFormat::Json => serde_json::to_string_pretty(self).map(|s| s + "\n"),
        }
    }

    fn text(&self) -> String {
        let total: usize = self.totals.values().sum();
        if total == 0 {
            return "The outbox is empty: no correction was ever planned with writes allowed.\n".into();
        }
        let counts = self.totals.iter().map(|(s, n)| format!("{n} {}", s.as_str())).collect::<Vec<_>>().join(", ");
        let mut out = String::new();
        if self.corrections.is_empty() {
            let asked = self.states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ");
            let _ = writeln!(out, "No {asked} corrections. The outbox holds {total}: {counts}.");
            return out;
        }
        let _ = writeln!(out, "{} of {total} correction(s) in the outbox ({counts}):\n", self.corrections.len());
        let cells: Vec<[String; 6]> = self
            .corrections
            .iter()
            .map(|r| {
                [
                    r.id.clone(),
                    r.state.as_str().to_string(),
                    format!("{}/{}", r.attempts, self.max_attempts),
                    age(r.age_seconds),
                    r.action.to_string(),
                    format!("{} -> {}", r.source, r.target),
                ]
            })
            .collect();
        let header = ["ID", "STATE", "ATTEMPTS", "AGE", "ACTION", "SOURCE -> TARGET"];
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |out: &mut String, row: &[&str]| {
            let mut text = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if i + 1 == row.len() {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<w$}  ");
                }
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&mut out, &header);
        for (r, row) in self.corrections.iter().zip(&cells) {
            line(&mut out, &row.each_ref().map(String::as_str));
            if let Some(reason) = &r.reason {
                let _ = writeln!(out, "    {}: {}", r.state.as_str(), one_line(reason));
            }
            if let Some(error) = &r.last_error {
                let _ = writeln!(out, "    last error: {}", one_line(error));
            }
        }
        if self.totals.contains_key(&StateName::Parked) {
            let _ = writeln!(
                out,
                "\nParked corrections failed policy.max_attempts = {} runs in a row and are not attempted again: \
                 fix the cause, then `twotrack outbox retry ID` (or --all-parked); `twotrack outbox cancel ID` \
                 gives one up.",
                self.max_attempts
            );
        }
        out
    }
}

fn row(c: &Correction, now: DateTime<Utc>) -> OutboxRow {
    let target = match &c.action {
        Planned2::Move { target_tracker: tracker, .. } | Planned2::Storm { service_tracker: tracker, .. } => {
            match &c.progress.twin {
                Some(twin) => format!("{tracker}:{}", twin.key),
                None => tracker.clone(),
            }
        }
        Planned2::Reroute { group, .. } => format!("group {group}"),
        Planned2::Reprioritise { priority, .. } => format!("priority {priority}"),
    };
    let reason = match &c.state {
        State::Dropped { reason, .. } => Some(reason.clone()),
        State::Cancelled { reason, .. } => reason.clone(),
        _ => None,
    };
    OutboxRow {
        id: c.id.clone(),
        action: c.action.kind(),
        detail: describe(&c.action),
        source: c.source(),
        target,
        state: c.state.name(),
        state_since: c.state.since().map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        reason,
        attempts: c.attempts,
        last_error: c.last_error.clone(),
        created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        age_seconds: (now - c.created_at).num_seconds().max(0),
    }
}

/// `45s`, `12m`, `5h`, `3d`.
fn age(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// A vendor's message on one line of the table (control characters become spaces).
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(
            [age(0), age(59), age(60), age(3599), age(3600), age(86_399), age(86_400 * 3)],
            ["0s", "59s", "1m", "59m", "1h", "23h", "3d"]
        );
    }

    #[test]
    fn an_empty_outbox_says_so() {
        let now = Utc::now();
        assert!(OutboxList::new(&[], &[], 5, now).text().starts_with("The outbox is empty"));
        let json = OutboxList::new(&[], &[StateName::Parked], 5, now).render(ListFormat::Json).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["corrections"], serde_json::json!([]));
        assert_eq!(v["states"], serde_json::json!(["parked"]));
        assert_eq!(v["schema_version"], 1);
    }

    #[test]
    fn control_characters_stay_out_of_the_table() {
        assert_eq!(one_line("bad\nvalue\tthere\u{1b}[31m"), "bad value there [31m");
    }
}
