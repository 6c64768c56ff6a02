//! Storms in the report: the rows every format shows (dedicated report types: the storm module's own
//! types never reach the JSON).

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde::Serialize;

use crate::storm::{Parent, Storm, StormPriority, duration};

/// Bins of a storm's arrival chart.
pub const ARRIVAL_BINS: usize = 12;

/// A storm as the audit found it, with what would be done about it.
pub struct FoundStorm {
    pub storm: Storm,
    pub parent: Option<Parent>,
    pub priority: StormPriority,
}

/// One storm in the report.
#[derive(Debug, Clone, Serialize)]
pub struct StormRow {
    /// `tracker/key` of the first report: names the storm while it grows.
    pub id: String,
    /// "25 reports in 1h 36m from 24 reporters: checkout, down, payment".
    pub headline: String,
    /// The words most reports share, the most shared first.
    pub words: Vec<String>,
    /// RFC 3339 times of the first and the last report.
    pub first: String,
    pub last: String,
    pub span_minutes: i64,
    pub reports: u64,
    /// Distinct reporters (one person in both trackers counts once).
    pub reporters: u64,
    /// Reports per tracker they were filed in.
    pub by_tracker: BTreeMap<String, u64>,
    /// The reports the site's everyday rate of such reports predicts in the span.
    pub expected: f64,
    /// Reports in each of twelve equal parts of the span: the arrival curve.
    pub arrivals: Vec<u64>,
    /// Where the reports are gathered: a `new` incident in `tracker`.
    pub parent: Option<ParentRow>,
    pub reach: u64,
    pub impact: u8,
    pub urgency: u8,
    pub priority: u8,
    pub priority_name: String,
    /// How the priority was derived, step by step.
    pub derivation: Vec<String>,
    pub members: Vec<StormMemberRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParentRow {
    /// `new`: twotrack creates the parent (kept in the JSON for readers of the earlier `existing`).
    pub kind: &'static str,
    pub tracker: String,
    pub key: Option<String>,
    /// In words: "a new incident in servicenow: ...", with what happens to the reports.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StormMemberRow {
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub title: String,
    pub filed_type: String,
    pub created: String,
    pub reporter: Option<String>,
    /// How typical of the storm the report is (cosine to its centroid).
    pub similarity: f64,
}

impl StormRow {
    pub fn new(found: &FoundStorm) -> StormRow {
        let (s, p) = (&found.storm, &found.priority);
        let (tracker, key) = s.anchor();
        let mut by_tracker = BTreeMap::new();
        for m in &s.members {
            *by_tracker.entry(m.tracker.clone()).or_default() += 1;
        }
        let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        StormRow {
            id: format!("{tracker}/{key}"),
            headline: s.headline(),
            words: s.words.clone(),
            first: time(s.first),
            last: time(s.last),
            span_minutes: s.span().num_minutes(),
            reports: s.members.len() as u64,
            reporters: s.reporters as u64,
            by_tracker,
            expected: s.expected,
            arrivals: s.arrivals(ARRIVAL_BINS),
            parent: found.parent.as_ref().map(|parent| ParentRow {
                kind: "new",
                tracker: parent.tracker.clone(),
                key: None,
                text: format!(
                    "{}: its incidents there become its children; each report in the product backlog is linked \
                     to it, its reporter told, and closed",
                    parent.describe()
                ),
            }),
            reach: p.reach,
            impact: p.impact,
            urgency: p.urgency,
            priority: p.priority,
            priority_name: p.name.clone(),
            derivation: p.derivation.clone(),
            members: s
                .members
                .iter()
                .map(|m| StormMemberRow {
                    tracker: m.tracker.clone(),
                    key: m.key.clone(),
                    url: m.url.clone(),
                    title: m.summary.clone(),
                    filed_type: m.filed_type.clone(),
                    created: time(m.created),
                    reporter: m.reporter.clone(),
                    similarity: m.similarity,
                })
                .collect(),
        }
    }

    /// The span in words: "1h 36m".
    pub fn span(&self) -> String {
        duration(chrono::TimeDelta::minutes(self.span_minutes))
    }

    /// "servicenow 20, jira 5".
    pub fn trackers(&self) -> String {
        self.by_tracker.iter().map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ")
    }

    /// The parent in words, or why there is none.
    pub fn parent_text(&self) -> &str {
        self.parent.as_ref().map_or("none (no service queue is configured)", |p| p.text.as_str())
    }
}
