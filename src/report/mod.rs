//! The audit report: one model, built once, rendered per format (HTML, Markdown, JSON, CSV).
//!
//! The model is made of dedicated, serializable report types with a `schema_version`; domain and store
//! types never leak into the JSON (so they can change without breaking consumers).

mod csv;
mod findings;
pub mod history;
mod html;
mod markdown;
pub mod outbox;
pub mod stats;
pub mod storm;
pub mod verdict;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use twotrack_api::{Class, Kind, TrackerKind, TrackerRole};

use crate::classify::PriorityMatrix;
use crate::classify::{Action, Reason, Subject};
use crate::config::Config;
use crate::plan::{Assessment, Change, Correction, Finding, FindingKind, ItemKeys, Planner, PriorityLevel};

pub use findings::{FindingRef, Findings, FindingsWriter};

/// Bumped on any incompatible change to the JSON report.
/// 2: findings carry `from` and `to`; `reasons` are grouped by the side they support.
pub const SCHEMA_VERSION: u32 = 2;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Md,
    Json,
    Csv,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Md => "md",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// Of the findings, the HTML page lists this many by default (the most actionable first): enough to
/// work through, few enough that the page opens in a browser in a moment at any size.
pub const HTML_FINDINGS: usize = 500;

/// How the HTML page is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOptions {
    /// The findings listed on the page (the first, in the report's order); the page counts the rest.
    pub findings: usize,
    /// Where the reader finds all of them.
    pub full_lists: FullLists,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions { findings: HTML_FINDINGS, full_lists: FullLists::Command }
    }
}

/// Where the full lists of findings are, for the HTML page to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullLists {
    /// Files written beside the page (names relative to it).
    Beside(Vec<String>),
    /// Addresses that serve them (the daemon's `/v1/report?format=csv`, `...json`).
    Served(Vec<String>),
    /// Nowhere yet: the page says which command writes them.
    Command,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub generated_at: String,
    /// Always true for `audit`: the report describes what `apply` would do.
    pub dry_run: bool,
    pub totals: Totals,
    pub trackers: Vec<TrackerSummary>,
    /// In the report's order: moves, then reviews, then fixes and reports, the most confident first.
    pub findings: Findings,
    /// Verdict confidence of open items in ten bins: [0.0, 0.1), ..., [0.9, 1.0].
    pub confidence_histogram: [u64; 10],
    /// Open Work items per queue (by the queue the classifier routes them to).
    pub queues: BTreeMap<String, u64>,
    /// What the reader should know before trusting the findings (a configuration the site contradicts).
    pub notes: Vec<String>,
    /// Storms: many reports of one event, in order of their first report.
    pub storms: Vec<storm::StormRow>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub open_items: u64,
    pub value: u64,
    pub work: u64,
    /// Misfiled items: the misfiled findings, each a move or a review (`work_in_product +
    /// value_in_service`, `moves + reviews`). Exempt items are never counted, whatever they read as.
    pub misfiled: u64,
    /// Misfiled: Work filed in a product backlog.
    pub work_in_product: u64,
    /// Misfiled: Value filed in a service queue.
    pub value_in_service: u64,
    /// Misfiled items to move.
    pub moves: u64,
    /// Misfiled items to review.
    pub reviews: u64,
    pub misrouted: u64,
    pub misprioritised: u64,
    /// Open items exempt from moves (keep marker or twins).
    pub exempt: u64,
    /// Corrections parked in the outbox after `policy.max_attempts` failed runs: they wait for
    /// `twotrack outbox retry` (set by the audit from the mirror's outbox, not by the builder).
    pub parked: u64,
    /// Of the moves, how many `apply` would leave for later cycles: it makes at most `max_moves` new
    /// moves a cycle, the most confident first.
    pub moves_waiting: u64,
    /// `policy.max_moves`: the new moves one cycle makes at most.
    pub max_moves: u64,
    /// Storms found among the open items, and the reports they hold.
    pub storms: u64,
    pub storm_reports: u64,
}

impl Totals {
    /// "N moves would wait for later cycles (max_moves = M)", where any would.
    pub fn waiting_line(&self) -> Option<String> {
        (self.moves_waiting > 0).then(|| {
            let moves = if self.moves_waiting == 1 { "move" } else { "moves" };
            format!("{} {moves} would wait for later cycles (max_moves = {})", self.moves_waiting, self.max_moves)
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrackerSummary {
    pub name: String,
    pub kind: TrackerKind,
    pub role: TrackerRole,
    pub open_items: u64,
    pub value: u64,
    pub work: u64,
    /// Share of open items that are misfiled (0..1): how mixed this backlog is.
    pub misfiled_share: f64,
    /// Misfiled items here (`moves + reviews`), counted as in the totals: exempt items are not.
    pub misfiled: u64,
    pub moves: u64,
    pub reviews: u64,
    /// Open items exempt from moves (keep marker or twins).
    pub exempt: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingRow {
    pub kind: FindingKind,
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub title: String,
    pub filed_as: TrackerRole,
    pub class: Class,
    pub item_kind: Kind,
    pub confidence: f64,
    /// "move", "review", "fix" or "report".
    pub action: RowAction,
    /// A move `apply` would leave for a later cycle (`policy.max_moves`).
    pub waits: bool,
    /// The storm the item is a report of (its id, `tracker/key` of the first report), if any.
    pub storm: Option<String>,
    /// Where the item is now: misfiled, its tracker and role; misrouted, its assignment group;
    /// misprioritised, its priority and the impact x urgency it derives from.
    pub from: String,
    /// Where the evidence puts it: the tracker, the group, or the priority (and its derivation).
    pub to: String,
    pub queue: Option<String>,
    pub impact: Option<u8>,
    pub urgency: Option<u8>,
    pub priority: Option<u8>,
    pub reasons: Reasons,
    pub target: Option<TargetRow>,
}

/// A finding's reasons, grouped by the side they support, strongest first within each group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reasons {
    /// What decided: the decision and its threshold (misfiled), the routing evidence (misrouted), the
    /// priority matrix (misprioritised).
    pub decisive: Option<String>,
    /// Evidence for `to`, the proposed place.
    pub for_proposed: Vec<String>,
    /// Evidence for `from`, where the item is now (against the finding).
    pub for_current: Vec<String>,
    /// How the details of where it would go were derived (kind, queue, impact, urgency, priority),
    /// and context that supports neither side (the tracker's prior, a site model that abstains).
    pub details: Vec<String>,
}

/// Exactly what a correction would write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetRow {
    pub tracker: String,
    /// Jira project or ServiceNow table.
    pub container: String,
    pub item_type: String,
    pub queue: Option<String>,
    pub priority: Option<String>,
    /// The note left on the original for its reporter (or the work note of a reroute / reprioritisation).
    pub note: String,
}

/// Accumulates assessments into a report.
pub struct ReportBuilder<'a> {
    planner: &'a Planner<'a>,
    report: Report,
    /// The findings' rows, written away as they come.
    findings: FindingsWriter,
    /// The first failure to write a row away (reported by `finish`).
    failed: Option<RenderError>,
    per_tracker: BTreeMap<String, TrackerSummary>,
    /// The moves that would wait for later cycles.
    waiting: ItemKeys,
}

impl<'a> ReportBuilder<'a> {
    pub fn new(planner: &'a Planner<'a>, generated_at: String) -> Self {
        let per_tracker = planner
            .config
            .trackers
            .iter()
            .map(|t| {
                let summary = TrackerSummary {
                    name: t.name.clone(),
                    kind: t.kind(),
                    role: t.role,
                    open_items: 0,
                    value: 0,
                    work: 0,
                    misfiled_share: 0.0,
                    misfiled: 0,
                    moves: 0,
                    reviews: 0,
                    exempt: 0,
                };
                (t.name.clone(), summary)
            })
            .collect();
        ReportBuilder {
            planner,
            report: Report {
                schema_version: SCHEMA_VERSION,
                generated_at,
                dry_run: true,
                totals: Totals { max_moves: planner.config.policy.max_moves as u64, ..Totals::default() },
                trackers: Vec::new(),
                findings: Findings::default(),
                confidence_histogram: [0; 10],
                queues: BTreeMap::new(),
                notes: queue_notes(planner),
                storms: Vec::new(),
            },
            findings: FindingsWriter::default(),
            failed: None,
            per_tracker,
            waiting: ItemKeys::default(),
        }
    }

    /// Add one assessed item (closed items are ignored: the audit is about open work). `observe` sees
    /// each of its findings.
    pub fn add(&mut self, a: &Assessment, mut observe: impl FnMut(&Finding)) {
        if !a.item.open {
            return;
        }
        let findings = self.planner.findings(a);
        findings.iter().for_each(&mut observe);
        self.add_found(a, findings);
    }

    /// [`ReportBuilder::add`] with the findings already worked out (`Planner::findings` of `a`, e.g. on
    /// another thread).
    pub fn add_found(&mut self, a: &Assessment, findings: Vec<Finding>) {
        if let Some(judged) = Judged::of(a, &findings, self.planner.config) {
            self.add_judged(judged);
        }
    }

    /// Add what the report keeps of one open item ([`Judged::of`]).
    pub fn add_judged(&mut self, j: Judged) {
        let t = &mut self.report.totals;
        t.open_items += 1;
        match j.class {
            Class::Value => t.value += 1,
            Class::Work => t.work += 1,
        }
        if j.exempt {
            t.exempt += 1;
        }
        let bin = ((j.confidence * 10.0).floor() as usize).min(9);
        self.report.confidence_histogram[bin] += 1;
        if let Some(q) = j.queue {
            *self.report.queues.entry(q).or_default() += 1;
        }
        if let Some(s) = self.per_tracker.get_mut(&j.tracker) {
            s.open_items += 1;
            match j.class {
                Class::Value => s.value += 1,
                Class::Work => s.work += 1,
            }
            // Misfiled items are counted from their findings (as in the totals): an exempt item that
            // reads as misfiled has none.
            if j.exempt {
                s.exempt += 1;
            }
        }
        for f in j.findings {
            self.add_finding(&j.tracker, f);
        }
    }

    /// The storms the audit found among the open items.
    pub fn storms(&mut self, found: &[storm::FoundStorm]) {
        self.report.storms = found.iter().map(storm::StormRow::new).collect();
        self.report.totals.storms = found.len() as u64;
        self.report.totals.storm_reports = found.iter().map(|f| f.storm.members.len() as u64).sum();
    }

    /// The moves (tracker, key) `apply` would leave for later cycles, under `policy.max_moves`.
    pub fn moves_waiting(&mut self, waiting: ItemKeys) {
        self.report.totals.moves_waiting = waiting.len() as u64;
        self.waiting = waiting;
    }

    fn add_finding(&mut self, tracker: &str, f: FoundRow) {
        let t = &mut self.report.totals;
        let summary = self.per_tracker.get_mut(tracker);
        match f.kind {
            FindingKind::Misfiled => {
                match f.filed_as {
                    TrackerRole::Product => t.work_in_product += 1,
                    TrackerRole::Service => t.value_in_service += 1,
                }
                let is_move = f.row.action == RowAction::Move;
                t.misfiled += 1;
                if is_move {
                    t.moves += 1
                } else {
                    t.reviews += 1
                }
                if let Some(s) = summary {
                    s.misfiled += 1;
                    if is_move { s.moves += 1 } else { s.reviews += 1 }
                }
            }
            FindingKind::Misrouted => t.misrouted += 1,
            FindingKind::Misprioritised => t.misprioritised += 1,
            FindingKind::ReopenedAfterMove | FindingKind::ReturnedByHuman => {}
        }
        if self.failed.is_none()
            && let Err(e) = self.findings.push(&f.row)
        {
            self.failed = Some(e);
        }
    }

    /// The report, its findings in order. Fails only when their rows could not be written away (see
    /// [`Findings`]: past a few megabytes they go to a temporary file).
    pub fn finish(mut self) -> Result<Report, RenderError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        for (_, mut s) in std::mem::take(&mut self.per_tracker) {
            s.misfiled_share = if s.open_items == 0 { 0.0 } else { s.misfiled as f64 / s.open_items as f64 };
            self.report.trackers.push(s);
        }
        let in_storm: BTreeMap<(&str, &str), &str> = self
            .report
            .storms
            .iter()
            .flat_map(|s| s.members.iter().map(move |m| ((m.tracker.as_str(), m.key.as_str()), s.id.as_str())))
            .collect();
        // Most actionable first: moves, then reviews, then fixes and reports (`RowAction`'s order);
        // strongest confidence first within each.
        let findings = self.findings.finish(&self.waiting, &in_storm)?;
        self.report.findings = findings;
        Ok(self.report)
    }
}

/// What the report keeps of one open item: its counts, and each of its findings as the report's row.
/// Made where the item is judged (on a worker, in the audit), so that the item and its findings are
/// dropped there, and the thread that adds the items up only counts and keeps rows.
pub struct Judged {
    tracker: String,
    class: Class,
    confidence: f64,
    /// The queue of Work.
    queue: Option<String>,
    exempt: bool,
    findings: Vec<FoundRow>,
}

/// A finding as the report counts and lists it.
struct FoundRow {
    kind: FindingKind,
    filed_as: TrackerRole,
    row: FindingRow,
}

impl Judged {
    /// The item's tracker.
    pub fn tracker(&self) -> &str {
        &self.tracker
    }

    /// What the report keeps of assessed item `a` with its `findings` (`None` for a closed item: the
    /// audit is about open work).
    pub fn of(a: &Assessment, findings: &[Finding], config: &Config) -> Option<Judged> {
        if !a.item.open {
            return None;
        }
        Some(Judged {
            tracker: a.item.tracker.clone(),
            class: a.verdict.class,
            confidence: a.verdict.confidence,
            queue: a.verdict.queue.clone().filter(|_| a.verdict.class == Class::Work),
            exempt: a.exempt.is_some(),
            findings: findings
                .iter()
                .map(|f| FoundRow { kind: f.kind, filed_as: f.filed_as, row: row(f, config) })
                .collect(),
        })
    }
}

/// A site whose service queues hold none of the `[[queue]]` groups: Work is never judged misrouted by
/// the rules there (every item would be), and the reader should fix the configuration.
fn queue_notes(planner: &Planner<'_>) -> Vec<String> {
    let site = planner.site;
    if planner.queue_rules_apply || site.route.abstains().is_none() {
        // The groups exist, or the site's own routing history routes (the rules do not).
        return Vec::new();
    }
    let mut seen: Vec<(&String, &usize)> = site.groups().iter().collect();
    seen.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let shown: Vec<String> = seen.iter().take(8).map(|(g, n)| format!("{g} ({n})")).collect();
    let configured: Vec<&str> = planner.config.queues.iter().map(|q| q.group.as_str()).collect();
    vec![format!(
        "None of the [[queue]] groups ({}) exist in the service queues here, so no item is judged misrouted. \
         The groups its items sit in: {}{}. Set each [[queue]] group to one of them (or let the site's own \
         routing history route, once it holds enough routed items).",
        configured.join(", "),
        shown.join(", "),
        if seen.len() > 8 { ", ..." } else { "" }
    )]
}

/// What a finding asks for, in the order the report lists findings: the moves, then the misfiled
/// items for a human to review, then the corrections in place and what is only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowAction {
    /// A misfiled item `apply` moves.
    Move,
    /// A possibly misfiled item for a human to look at.
    Review,
    /// A misrouted or misprioritised item `apply` corrects in place.
    Fix,
    /// A finding reported only (not sure enough to correct).
    Report,
}

impl RowAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RowAction::Move => "move",
            RowAction::Fix => "fix",
            RowAction::Review => "review",
            RowAction::Report => "report",
        }
    }
}

impl std::fmt::Display for RowAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn row(f: &Finding, config: &Config) -> FindingRow {
    let v = &f.verdict;
    let action = match (f.kind, f.action) {
        (FindingKind::Misfiled, Action::Move) => RowAction::Move,
        (FindingKind::Misfiled, _) => RowAction::Review,
        (_, Action::Move) => RowAction::Fix,
        _ => RowAction::Report,
    };
    let target = f.correction.as_ref().map(|c| match c {
        Correction::Move(m) => TargetRow {
            tracker: m.target_tracker.clone(),
            container: m.container.clone(),
            item_type: m.item_type.clone(),
            queue: m.new_item.queue.clone(),
            priority: m.priority_name.clone(),
            // The twin does not exist yet: its key and link are written once it does.
            note: crate::plan::fill(&m.source_note, "<new key>", "<link>"),
        },
        Correction::Reroute { group, note, .. } => TargetRow {
            tracker: f.item.tracker.clone(),
            container: f.item.filed_type.clone(),
            item_type: f.item.filed_type.clone(),
            queue: Some(group.clone()),
            priority: None,
            note: note.clone(),
        },
        Correction::Reprioritise { priority, note, .. } => TargetRow {
            tracker: f.item.tracker.clone(),
            container: f.item.filed_type.clone(),
            item_type: f.item.filed_type.clone(),
            queue: None,
            priority: Some(config.priority.name(*priority).to_string()),
            note: note.clone(),
        },
    });
    let (from, to) = from_to(&f.change, &config.priority);
    FindingRow {
        kind: f.kind,
        tracker: f.item.tracker.clone(),
        key: f.item.key.clone(),
        url: f.item.url.clone(),
        title: f.item.summary.clone(),
        filed_as: f.filed_as,
        class: v.class,
        item_kind: v.kind,
        confidence: (v.confidence * 1000.0).round() / 1000.0,
        action,
        waits: false,
        storm: None,
        from,
        to,
        queue: v.queue.clone(),
        impact: v.impact,
        urgency: v.urgency,
        priority: v.priority,
        reasons: grouped(f),
        target,
    }
}

/// One reason in words.
fn reason_text(r: &Reason) -> String {
    if r.weight > 0.0 {
        format!("{}: {} ({:+.2})", r.rule, r.evidence, r.weight)
    } else {
        format!("{}: {}", r.rule, r.evidence)
    }
}

/// A finding's reasons grouped by the side they support. Evidence for the item's current place is
/// never listed as support: for a misfiled item, a rule speaking for the class of the tracker it sits
/// in speaks for staying. Routing and priority findings are about Work staying Work: the class
/// evidence is not part of their why.
fn grouped(f: &Finding) -> Reasons {
    enum Side {
        Decisive,
        Proposed,
        Current,
        Details,
        Omit,
    }
    let current = f.filed_as.holds();
    let side = |r: &Reason| match (f.kind, r.subject()) {
        (FindingKind::Misfiled, Subject::Decision) => Side::Decisive,
        (FindingKind::Misfiled, Subject::Class(c)) if c == current => Side::Current,
        (FindingKind::Misfiled, Subject::Class(_)) => Side::Proposed,
        (FindingKind::Misfiled, _) => Side::Details,
        (FindingKind::Misrouted, Subject::Queue) => Side::Decisive,
        (FindingKind::Misprioritised, Subject::Priority) => Side::Decisive,
        (FindingKind::Misprioritised, Subject::Level { stated: true }) => Side::Proposed,
        (FindingKind::Misprioritised, Subject::Level { stated: false }) => Side::Details,
        _ => Side::Omit,
    };
    let mut by_strength: Vec<&Reason> = f.verdict.reasons.iter().collect();
    // A route is decided by the first routing reason: the site's routing history, which the plan puts
    // first, where it routes; else the queue rule. Other findings: strongest first (stable, so equally
    // strong reasons keep the verdict's order, the site's first).
    if f.kind != FindingKind::Misrouted {
        by_strength.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    }
    let mut out = Reasons::default();
    for r in by_strength {
        match side(r) {
            Side::Decisive if out.decisive.is_none() => out.decisive = Some(reason_text(r)),
            Side::Decisive | Side::Details => out.details.push(reason_text(r)),
            Side::Proposed => out.for_proposed.push(reason_text(r)),
            Side::Current => out.for_current.push(reason_text(r)),
            Side::Omit => {}
        }
    }
    out
}

/// A finding's from -> to in words.
fn from_to(change: &Change, matrix: &PriorityMatrix) -> (String, String) {
    let place = |role: TrackerRole| match role {
        TrackerRole::Product => "product backlog",
        TrackerRole::Service => "service queue",
    };
    let priority =
        |l: &PriorityLevel| format!("{} (impact {} x urgency {})", matrix.name(l.priority), l.impact, l.urgency);
    match change {
        Change::Tracker { from, from_role, to, to_role } => (
            format!("{from} ({})", place(*from_role)),
            match to {
                Some(to) => format!("{to} ({})", place(*to_role)),
                None => format!("a {} (none is configured)", place(*to_role)),
            },
        ),
        Change::Group { from, to } => (from.clone().unwrap_or_else(|| "unassigned".to_string()), to.clone()),
        Change::Priority { from, to } => (priority(from), priority(to)),
        Change::AfterMove(m) => m.from_to(),
    }
}

impl Report {
    /// Render in one format (the HTML page as [`HtmlOptions::default`] lays it out). In memory: for
    /// a large report, [`Report::write`] it instead.
    pub fn render(&self, format: Format) -> Result<String, RenderError> {
        let mut out = Vec::new();
        self.write(format, &HtmlOptions::default(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    /// Write in one format to `out`, one finding at a time (the HTML page lists only the first
    /// `html.findings`, so it is built whole).
    pub fn write(&self, format: Format, html: &HtmlOptions, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        match format {
            Format::Html => out.write_all(html::render(self, html)?.as_bytes()).map_err(RenderError::Write)?,
            Format::Md => markdown::write(self, out)?,
            Format::Json => serde_json::to_writer_pretty(&mut *out, self)?,
            Format::Csv => csv::write(self, out)?,
        }
        out.flush().map_err(RenderError::Write)
    }

    /// The HTML page, laid out as `opts` says.
    pub fn render_html(&self, opts: &HtmlOptions) -> Result<String, RenderError> {
        html::render(self, opts)
    }

    /// Findings for a human to review (what `--fail-on review` counts).
    pub fn review_findings(&self) -> u64 {
        self.findings.iter().filter(|f| f.action == RowAction::Review).count() as u64
    }

    /// Findings that `--fail-on misfiled` counts (moves and reviews of misfiled items).
    pub fn misfiled(&self) -> u64 {
        self.totals.misfiled
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("could not serialize the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not write CSV: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("could not write CSV: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
    /// The findings' rows could not be written to (or read back from) their temporary file.
    #[error("could not keep the findings in a temporary file (is the temporary directory full? TMPDIR sets it): {0}")]
    Spill(std::io::Error),
    /// A finding's row could not be kept in the spill, or read back from it.
    #[error("could not keep a finding in the temporary file: {0}")]
    Row(#[from] postcard::Error),
    /// More findings than one report holds (their keys past 4 GiB).
    #[error("too many findings for one report ({0}); audit one tracker at a time (--tracker)")]
    TooMany(&'static str),
    #[error("{0}")]
    Write(std::io::Error),
}

impl From<std::convert::Infallible> for RenderError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl RenderError {
    /// The reader went away (a closed pipe or connection): nothing to report.
    pub fn is_broken_pipe(&self) -> bool {
        let kind = match self {
            RenderError::Write(e) => Some(e.kind()),
            RenderError::Json(e) => e.io_error_kind(),
            RenderError::Csv(e) => match e.kind() {
                ::csv::ErrorKind::Io(e) => Some(e.kind()),
                _ => None,
            },
            RenderError::Utf8(_) | RenderError::Spill(_) | RenderError::Row(_) | RenderError::TooMany(_) => None,
        };
        kind == Some(std::io::ErrorKind::BrokenPipe)
    }
}

#[cfg(test)]
mod tests {
    use twotrack_api::{Item, Kind};

    use super::*;
    use crate::classify::Verdict;

    fn reason(rule: &str, supports: &str, subject: Subject, weight: f64) -> Reason {
        Reason { rule: rule.into(), supports: supports.into(), subject, evidence: format!("says {rule}"), weight }
    }

    fn finding(kind: FindingKind, class: Class, reasons: Vec<Reason>) -> Finding {
        let verdict = Verdict {
            class,
            kind: Kind::Request,
            confidence: 0.9,
            margin: 1.0,
            work: 2.0,
            value: 1.0,
            queue: None,
            impact: None,
            urgency: None,
            priority: None,
            reasons,
        };
        Finding {
            kind,
            item: Item::new("jira", "SHOP-1", "Reset my password"),
            filed_as: TrackerRole::Product,
            verdict,
            action: Action::Review,
            change: Change::Group { from: None, to: "x".into() },
            correction: None,
        }
    }

    #[test]
    fn evidence_for_where_a_misfiled_item_is_is_not_listed_as_support_for_moving_it() {
        // Work in the product backlog: Work rules speak for moving it, Value rules for staying.
        let f = finding(
            FindingKind::Misfiled,
            Class::Work,
            vec![
                reason("fused", "service queue", Subject::Decision, 0.0),
                reason("site-model", "service queue", Subject::Class(Class::Work), 0.0),
                reason("value-story", "value/feature", Subject::Class(Class::Value), 0.4),
                reason("work-reset", "work/request", Subject::Class(Class::Work), 1.2),
                reason("work-access", "work", Subject::Class(Class::Work), 2.0),
                reason("kind-broken", "kind defect", Subject::Kind, 0.3),
                reason("site-prior", "3.0% misfiled", Subject::Context, 0.0),
            ],
        );
        let r = grouped(&f);
        assert_eq!(r.decisive.as_deref(), Some("fused: says fused"));
        assert_eq!(
            r.for_proposed,
            [
                "work-access: says work-access (+2.00)",
                "work-reset: says work-reset (+1.20)",
                "site-model: says site-model"
            ]
        );
        assert_eq!(r.for_current, ["value-story: says value-story (+0.40)"]);
        assert_eq!(r.details, ["kind-broken: says kind-broken (+0.30)", "site-prior: says site-prior"]);
    }

    #[test]
    fn a_route_is_decided_by_the_routing_evidence_and_a_priority_by_the_matrix() {
        let routing = vec![
            reason("site-route", "Service Desk", Subject::Queue, 0.0),
            reason("work-access", "work", Subject::Class(Class::Work), 2.0),
            reason("route-access", "queue access", Subject::Queue, 1.5),
        ];
        let r = grouped(&finding(FindingKind::Misrouted, Class::Work, routing));
        assert_eq!(r.decisive.as_deref(), Some("site-route: says site-route"));
        assert!(r.for_proposed.is_empty() && r.for_current.is_empty(), "class evidence is not about routing: {r:?}");
        assert_eq!(r.details, ["route-access: says route-access (+1.50)"], "another queue's rule is no support");

        let priority = vec![
            reason("work-outage", "work/incident", Subject::Class(Class::Work), 2.0),
            reason("everyone", "impact 1", Subject::Level { stated: true }, 0.0),
            reason("urgency-as-filed", "urgency 2", Subject::Level { stated: false }, 0.0),
            reason("priority-matrix", "priority 2", Subject::Priority, 0.0),
        ];
        let r = grouped(&finding(FindingKind::Misprioritised, Class::Work, priority));
        assert_eq!(r.decisive.as_deref(), Some("priority-matrix: says priority-matrix"));
        assert_eq!(r.for_proposed, ["everyone: says everyone"]);
        assert_eq!(r.details, ["urgency-as-filed: says urgency-as-filed"]);
    }
}
