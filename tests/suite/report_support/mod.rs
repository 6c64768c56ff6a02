//! A big report built in the test, without an audit: its findings of every action, as heavy as real ones
//! (`#[path]`-included by the report tests).

use std::collections::BTreeMap;

/// Two trackers nobody listens to (port 9): what the report tests configure when they read a mirror
/// without pulling; add `[mirror]` or `[policy]` lines after it.
pub const OFFLINE_TRACKERS: &str = r#"
[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "http://127.0.0.1:9"
[tracker.auth]
user = "bot@example.com"
token = "inline-test-token"
[tracker.scope]
projects = ["SHOP"]

[[tracker]]
name = "servicenow"
kind = "servicenow"
role = "service"
base_url = "http://127.0.0.1:9"
[tracker.auth]
user = "bot"
token = "inline-test-token"
"#;

use twotrack::api::{Class, Kind, TrackerRole};
use twotrack::plan::FindingKind;
use twotrack::report::{FindingRow, Findings, Reasons, Report, RowAction, SCHEMA_VERSION, TargetRow, Totals};

/// Finding `n` of a big audit: a fifth moves, a fifth reviews, the rest fixes and reports, with
/// confidences spread so that the order is not the order of making, and a row as heavy as a real one.
pub fn finding(n: usize) -> FindingRow {
    let (action, kind) = match n % 10 {
        0 | 5 => (RowAction::Move, FindingKind::Misfiled),
        1 | 6 => (RowAction::Review, FindingKind::Misfiled),
        2 | 7 => (RowAction::Fix, FindingKind::Misrouted),
        3 => (RowAction::Fix, FindingKind::Misprioritised),
        _ => (RowAction::Report, FindingKind::Misprioritised),
    };
    let note = "Hello, this request was filed in the product backlog but it is an operational request: it \
                has been moved to the service desk, where it will be handled. "
        .repeat(3);
    FindingRow {
        kind,
        tracker: if n.is_multiple_of(2) { "jira" } else { "servicenow" }.into(),
        key: format!("KEY-{n}"),
        url: format!("https://example.test/browse/KEY-{n}"),
        title: format!("Please reset the password for user {n}, locked out again after the holidays"),
        filed_as: TrackerRole::Product,
        class: Class::Work,
        item_kind: Kind::Request,
        // Distinct confidences (n * 7919 mod 50,021 is one-to-one below 50,021).
        confidence: (n * 7919 % 50_021) as f64 / 50_021.0,
        action,
        waits: false,
        storm: None,
        from: "jira (product backlog)".into(),
        to: "servicenow (service queue)".into(),
        queue: Some("access".into()),
        impact: Some(3),
        urgency: Some(3),
        priority: Some(5),
        reasons: Reasons {
            decisive: Some("fused: P(misfiled) 0.93 >= move threshold 0.90".into()),
            for_proposed: vec!["work-access: locked out (+2.00)".into(), "site-model: 0.91 Work".into()],
            for_current: vec!["value-story: as a user (+0.40)".into()],
            details: vec!["kind-request: reset (+0.30)".into(), "site-prior: 3.0% misfiled".into()],
        },
        target: Some(TargetRow {
            tracker: "servicenow".into(),
            container: "sc_req_item".into(),
            item_type: "sc_req_item".into(),
            queue: Some("Identity & Access".into()),
            priority: None,
            note,
        }),
    }
}

pub fn big_report(n: usize) -> (Report, Vec<FindingRow>) {
    let rows: Vec<FindingRow> = (0..n).map(finding).collect();
    let findings = Findings::from_rows(&rows).unwrap();
    let report = Report {
        schema_version: SCHEMA_VERSION,
        generated_at: "2026-12-05T08:00:00Z".into(),
        dry_run: true,
        totals: Totals { open_items: 2 * n as u64, ..Totals::default() },
        trackers: Vec::new(),
        findings,
        confidence_histogram: [n as u64 / 10; 10],
        queues: BTreeMap::new(),
        notes: Vec::new(),
        storms: Vec::new(),
    };
    (report, rows)
}
