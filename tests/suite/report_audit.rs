//! The audit report: one model, four formats, hostile ticket text rendered inert.

use std::path::Path;

use twotrack::api::{Class, Item};
use twotrack::config::{Config, parse_str};
use twotrack::mirror::Mirror;
use twotrack::plan::FindingKind;
use twotrack::report::{FindingRow, Format, Report, RowAction};

use crate::classify_support;
use crate::report_support;

use report_support::OFFLINE_TRACKERS;

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

/// Small backlogs: the circuit breaker (a share of each tracker's open items) stays out of the way.
fn config() -> Config {
    config_with("max_move_share = 1.0")
}

/// The test configuration with `policy` lines added.
fn config_with(policy: &str) -> Config {
    let text = format!(
        r#"{OFFLINE_TRACKERS}
# Nine items are too few for the site model: let the rules' clear cases move, so that moves show.
[policy]
rules_may_move_alone = true
move_threshold = 0.8
"#
    );
    let text = format!("{text}{policy}\n");
    parse_str(&text, Path::new("/tmp/twotrack-report-test.toml")).expect("valid test config")
}

fn item(tracker: &str, key: &str, ty: &str, summary: &str, description: &str) -> Item {
    let mut i = Item::new(tracker, key, summary);
    i.filed_type = ty.into();
    i.description = description.into();
    i.url = format!("https://example.test/browse/{key}");
    i
}

/// The rows of the report's findings, in its order.
fn rows(r: &Report) -> Vec<FindingRow> {
    r.findings.rows().collect::<Result<_, _>>().expect("the findings read back")
}

/// A small mixed backlog: clear Value and clear Work in each tracker, one hostile summary, one closed item.
fn report() -> Report {
    report_with(&config())
}

fn report_with(config: &Config) -> Report {
    let mirror = Mirror::temporary().unwrap();
    let items = [
        item(
            "jira",
            "SHOP-1",
            "Story",
            "As a shopper I want to save my cart for later",
            "Acceptance criteria: cart persists across sessions",
        ),
        item(
            "jira",
            "SHOP-2",
            "Bug",
            "Tax is calculated wrong for Canadian addresses",
            "Steps to reproduce: checkout with a Quebec address",
        ),
        item(
            "jira",
            "SHOP-3",
            "Task",
            "Please reset the password for user jdoe, she is locked out",
            "Her account got locked after the holidays",
        ),
        item(
            "jira",
            "SHOP-4",
            "Task",
            "Restore the orders database from last night's backup",
            "Someone dropped a table in production",
        ),
        item("jira", "SHOP-5", "Bug", HOSTILE, "The product page shows raw markup"),
        item(
            "servicenow",
            "INC0010001",
            "incident",
            "Checkout is down for everyone since 2am",
            "All customers get a 502 error",
        ),
        item("servicenow", "RITM0010001", "sc_req_item", "Please grant Bob read access to the finance share", ""),
        item(
            "servicenow",
            "INC0010002",
            "incident",
            "Add a dark mode to the mobile app",
            "It would be a nice new feature for our users",
        ),
    ];
    for i in &items {
        mirror.upsert_item(i).unwrap();
    }
    let mut closed = item("jira", "SHOP-6", "Task", "Please reset my VPN token", "");
    closed.open = false;
    mirror.upsert_item(&closed).unwrap();
    twotrack::audit::audit(config, &mirror, None).unwrap()
}

#[test]
fn summary_counts_open_items_per_tracker_and_finds_misfiled_both_ways() {
    let r = report();
    let findings = rows(&r);
    assert_eq!(r.totals.open_items, 8, "the closed item is not audited");
    let jira = r.trackers.iter().find(|t| t.name == "jira").unwrap();
    let sn = r.trackers.iter().find(|t| t.name == "servicenow").unwrap();
    assert_eq!((jira.open_items, sn.open_items), (5, 3));
    assert!(r.totals.work_in_product >= 1, "the password reset / restore in Jira are Work: {:?}", r.totals);
    assert!(r.totals.value_in_service >= 1, "dark mode in ServiceNow is Value: {:?}", r.totals);
    let keys: Vec<&str> = findings.iter().filter(|f| f.kind == FindingKind::Misfiled).map(|f| f.key.as_str()).collect();
    assert!(keys.contains(&"SHOP-3") || keys.contains(&"SHOP-4"), "{keys:?}");
    assert!(keys.contains(&"INC0010002"), "{keys:?}");
    assert!(
        !keys.contains(&"SHOP-1") && !keys.contains(&"INC0010001"),
        "correctly filed items are not misfiled: {keys:?}"
    );
    // Every move says exactly where it would go and what note it would leave.
    assert!(findings.iter().any(|f| f.action == RowAction::Move), "{:?}", r.findings);
    for f in findings.iter().filter(|f| f.action == RowAction::Move) {
        let t = f.target.as_ref().expect("a move has a target");
        assert_ne!(t.tracker, f.tracker);
        assert!(t.note.contains("<new key>") && !t.note.contains('{'), "the note as it would read: {}", t.note);
        if f.class == Class::Value {
            assert_eq!(t.priority, None, "twotrack never sets a priority for Value");
        } else {
            assert!(t.queue.is_some() && t.priority.is_some(), "work moves carry a queue and a priority: {t:?}");
        }
    }
}

#[test]
fn json_has_a_schema_version_and_round_trips() {
    let r = report();
    let json: serde_json::Value = serde_json::from_str(&r.render(Format::Json).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["totals"]["open_items"], 8);
    assert_eq!(json["findings"].as_array().unwrap().len(), r.findings.len());
    assert_eq!(json["confidence_histogram"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 8);
}

#[test]
fn csv_has_one_row_per_finding_and_quotes_hostile_text() {
    let r = report();
    let csv = r.render(Format::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "kind");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), r.findings.len());
    for row in &rows {
        assert_eq!(row.len(), headers.len());
    }
}

#[test]
fn csv_cells_a_spreadsheet_would_run_as_formulas_are_text() {
    let config = config();
    let mirror = Mirror::temporary().unwrap();
    let formula = "=HYPERLINK(\"http://evil.example\",\"Restore the orders database from last night's backup\")";
    mirror.upsert_item(&item("jira", "SHOP-7", "Task", formula, "Someone dropped a table in production")).unwrap();
    let r = twotrack::audit::audit(&config, &mirror, None).unwrap();
    let findings = rows(&r);
    assert!(findings.iter().any(|f| f.key == "SHOP-7"), "the restore is Work in the backlog: a finding");
    let csv = r.render(Format::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let title = reader.headers().unwrap().iter().position(|h| h == "title").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let row = rows.iter().find(|row| &row[3] == "SHOP-7").unwrap();
    assert_eq!(&row[title], format!("'{formula}"));
    for row in &rows {
        assert!(row.iter().all(|cell| !cell.starts_with(['=', '+', '-', '@'])), "{row:?}");
    }
}

#[test]
fn markdown_escapes_ticket_text() {
    let r = report();
    let findings = rows(&r);
    let md = r.render(Format::Md).unwrap();
    assert!(md.starts_with("# twotrack audit"));
    assert!(!md.contains("<script>"), "raw HTML must not reach Markdown");
    if findings.iter().any(|f| f.title == HOSTILE) {
        assert!(md.contains("&lt;script&gt;"));
    }
}

#[test]
fn html_is_self_contained_and_escapes_ticket_text() {
    let r = report();
    let html = r.render(Format::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Exactly one script element: ours. The hostile summary appears only as text.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(!html.contains("<img"));
    assert!(!html.contains(HOSTILE));
    // No external assets: nothing is fetched from the network.
    for needle in ["src=\"http", "href=\"//", "<link", "@import", "url(http"] {
        assert!(!html.contains(needle), "external reference {needle:?} in the report");
    }
    for id in ["chart-mix", "chart-findings", "chart-confidence", "chart-queues", "findings", "trackers"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing #{id}");
    }
}

/// An audit of the simulator's generated backlog (400 items, 20% misfiled), as in a real run: many
/// findings of every kind, most of them only reported (no correction planned).
fn generated_report() -> Report {
    let config = config();
    let mirror = Mirror::temporary().unwrap();
    for item in classify_support::generated(14, 200) {
        mirror.upsert_item(&item).unwrap();
    }
    twotrack::audit::audit(&config, &mirror, None).unwrap()
}

#[test]
fn every_finding_shows_from_and_to_in_every_format() {
    let r = generated_report();
    let findings = rows(&r);
    for kind in [FindingKind::Misfiled, FindingKind::Misrouted, FindingKind::Misprioritised] {
        assert!(findings.iter().any(|f| f.kind == kind), "the generated backlog has {kind} findings: {:?}", r.totals);
    }
    assert!(
        findings.iter().any(|f| f.target.is_none()),
        "some findings are reported only (the case that lost from/to)"
    );
    let json: serde_json::Value = serde_json::from_str(&r.render(Format::Json).unwrap()).unwrap();
    for f in json["findings"].as_array().unwrap() {
        let (from, to) = (f["from"].as_str().unwrap_or(""), f["to"].as_str().unwrap_or(""));
        assert!(!from.is_empty() && !to.is_empty() && from != to, "a finding without from -> to: {f}");
        match f["kind"].as_str().unwrap() {
            "misfiled" => {
                let tracker = f["tracker"].as_str().unwrap();
                assert!(from.starts_with(tracker), "from is the tracker: {from}");
                assert!(to.ends_with("(service queue)") || to.ends_with("(product backlog)"), "to: {to}");
            }
            "misrouted" => {
                assert!(!to.contains("(impact"), "to is a group: {to}");
            }
            "misprioritised" => {
                assert!(from.contains("impact") && from.contains("urgency"), "with its derivation: {from}");
                assert!(to.contains("impact") && to.contains("urgency"), "with its derivation: {to}");
            }
            other => panic!("unknown kind {other}"),
        }
    }
    let md = r.render(Format::Md).unwrap();
    let html = r.render(Format::Html).unwrap();
    let csv = r.render(Format::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let (from, to) = (
        headers.iter().position(|h| h == "from").expect("a from column"),
        headers.iter().position(|h| h == "to").expect("a to column"),
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // Group names hold '&' ("Hosting & Infrastructure"): both formats escape it.
    let esc = |s: &str| s.replace('&', "&amp;");
    for (f, row) in findings.iter().zip(&rows) {
        assert_eq!((&row[from], &row[to]), (f.from.as_str(), f.to.as_str()));
        let (f_from, f_to) = (esc(&f.from), esc(&f.to));
        assert!(md.contains(&format!("{f_from} -> {f_to}")), "markdown shows {f_from} -> {f_to}");
        let shown = format!("<span class=\"from\">{f_from}</span> → <span class=\"to\">{f_to}</span>");
        assert!(html.contains(&shown), "html shows {shown}");
    }
}

#[test]
fn reasons_are_grouped_by_the_side_they_support_the_decisive_first() {
    let r = generated_report();
    let findings = rows(&r);
    let json: serde_json::Value = serde_json::from_str(&r.render(Format::Json).unwrap()).unwrap();
    for f in json["findings"].as_array().unwrap() {
        let reasons = &f["reasons"];
        let decisive = reasons["decisive"].as_str().unwrap_or_else(|| panic!("no decisive reason: {f}"));
        let want = match f["kind"].as_str().unwrap() {
            "misfiled" => "fused: ",
            "misprioritised" => "priority-matrix: ",
            _ => "",
        };
        assert!(decisive.starts_with(want), "{decisive}");
        for side in ["for_proposed", "for_current", "details"] {
            assert!(reasons[side].is_array(), "{side} in {reasons}");
        }
    }
    // The generated backlog's misfiled items have evidence for both classes; it is shown apart.
    let both = findings.iter().filter(|f| f.kind == FindingKind::Misfiled && !f.reasons.for_current.is_empty()).count();
    assert!(both > 0, "some misfiled findings have evidence for staying");
    let md = r.render(Format::Md).unwrap();
    assert!(md.contains("for staying: "), "markdown labels the evidence for staying");
    let html = r.render(Format::Html).unwrap();
    assert!(html.contains("For staying:") && html.contains("Decided by"), "html labels the sides");
}

#[test]
fn the_misfiled_count_is_the_same_in_every_place() {
    let config = config();
    let mirror = Mirror::temporary().unwrap();
    // Some items carry the keep marker, some are twins: exempt, whatever they read as.
    for (n, mut item) in classify_support::generated(14, 200).into_iter().enumerate() {
        match n % 9 {
            0 => item.labels.push("twotrack-keep".into()),
            1 => item.labels.push("twotrack-moved".into()),
            _ => {}
        }
        mirror.upsert_item(&item).unwrap();
    }
    let r = twotrack::audit::audit(&config, &mirror, None).unwrap();
    let findings = rows(&r);
    let t = &r.totals;
    assert!(t.exempt > 0 && t.misfiled > 0, "{t:?}");
    let rows = findings.iter().filter(|f| f.kind == FindingKind::Misfiled).count() as u64;
    assert_eq!(t.misfiled, rows, "totals vs findings rows");
    assert_eq!(t.misfiled, t.work_in_product + t.value_in_service, "totals by direction");
    assert_eq!(t.misfiled, t.moves + t.reviews, "totals by action");
    assert_eq!(r.misfiled(), t.misfiled, "what --fail-on counts");
    assert_eq!(r.trackers.iter().map(|s| s.misfiled).sum::<u64>(), t.misfiled, "tracker summaries vs totals");
    assert_eq!(r.trackers.iter().map(|s| s.exempt).sum::<u64>(), t.exempt, "exempt per tracker vs totals");
    for s in &r.trackers {
        let here = findings.iter().filter(|f| f.kind == FindingKind::Misfiled && f.tracker == s.name).count() as u64;
        assert_eq!((s.misfiled, s.moves + s.reviews), (here, here), "{}: summary vs its findings", s.name);
    }
    let md = r.render(Format::Md).unwrap();
    assert!(md.contains(&format!("**{}** misfiled", t.misfiled)), "markdown says the same number");
    let html = r.render(Format::Html).unwrap();
    assert!(html.contains(&format!("<b>{}</b>misfiled", t.misfiled)), "html says the same number");
}

#[test]
fn the_report_says_how_many_moves_wait_for_later_cycles() {
    let r = report();
    let findings = rows(&r);
    assert_eq!(r.totals.moves_waiting, 0, "{:?}", r.totals);
    assert!(findings.iter().all(|f| !f.waits));
    assert!(!r.render(Format::Md).unwrap().contains("would wait"));
    let moves = r.totals.moves;
    assert!(moves >= 2, "the backlog has moves to cap: {:?}", r.totals);

    let r = report_with(&config_with("max_move_share = 1.0\nmax_moves = 1"));
    let findings = rows(&r);
    assert!(r.notes.iter().all(|n| !n.contains("refuse")), "{:?}", r.notes);
    assert_eq!((r.totals.moves, r.totals.max_moves, r.totals.moves_waiting), (moves, 1, moves - 1));
    let waits: Vec<&str> = findings.iter().filter(|f| f.waits).map(|f| f.key.as_str()).collect();
    assert_eq!(waits.len() as u64, moves - 1, "each waiting move is marked");
    // The most confident move goes first; those that wait are the less confident.
    let first = findings.iter().find(|f| f.action == RowAction::Move && !f.waits).unwrap();
    assert!(findings.iter().filter(|f| f.waits).all(|f| f.confidence <= first.confidence));
    let line =
        format!("{} move{} would wait for later cycles (max_moves = 1)", moves - 1, if moves == 2 { "" } else { "s" });
    let json: serde_json::Value = serde_json::from_str(&r.render(Format::Json).unwrap()).unwrap();
    assert_eq!(json["totals"]["moves_waiting"], moves - 1);
    assert_eq!(json["totals"]["max_moves"], 1);
    assert!(r.render(Format::Md).unwrap().contains(&line), "markdown: {line}");
    assert!(r.render(Format::Html).unwrap().contains(&line), "html: {line}");
    let csv = r.render(Format::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let column = reader.headers().unwrap().iter().position(|h| h == "waits").expect("a waits column");
    let marked = reader.records().filter(|row| &row.as_ref().unwrap()[column] == "yes").count() as u64;
    assert_eq!(marked, moves - 1);

    // Where apply's circuit breaker would refuse the cycle, the audit says so.
    let r = report_with(&config_with("max_move_share = 0.2"));
    assert!(
        r.notes.iter().any(|n| n.starts_with("apply would refuse this cycle: refusing to apply: ")),
        "{:?}",
        r.notes
    );
}

#[test]
fn markdown_cuts_long_titles_json_and_csv_keep_them_whole() {
    let config = config();
    let mirror = Mirror::temporary().unwrap();
    let long = format!("Restore the orders database from last night's backup {}", "please hurry ".repeat(30));
    mirror.upsert_item(&item("jira", "SHOP-8", "Task", &long, "Someone dropped a table in production")).unwrap();
    let r = twotrack::audit::audit(&config, &mirror, None).unwrap();
    let findings = rows(&r);
    let f = findings.iter().find(|f| f.key == "SHOP-8").expect("the restore is Work in the backlog: a finding");
    assert_eq!(f.title, long);
    let md = r.render(Format::Md).unwrap();
    let row = md.lines().find(|l| l.contains("SHOP-8")).unwrap();
    assert!(!row.contains(long.trim_end()), "the whole title is not in the row");
    let shown: String = long.chars().take(79).collect();
    assert!(row.contains(&format!("{}…", shown.trim_end())), "{row}");
    assert!(r.render(Format::Csv).unwrap().contains(&long));
}
