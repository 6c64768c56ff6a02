//! Storms in the audit: a generated backlog with an outage mixed in is audited from a mirror, and the
//! storm shows in every format (members, span, reporters, proposed parent, priority and derivation).

use crate::storm_support;

use std::path::Path;

use twotrack::config::{Config, parse_str};
use twotrack::mirror::Mirror;
use twotrack::report::{Format, Report};
use twotrack_sim::generator::StormOptions;

fn config(storm: &str) -> Config {
    let text = format!(
        r#"tracker = [
  {{ name = "jira", kind = "jira", role = "product", base_url = "http://127.0.0.1:9", scope = {{ projects = ["SHOP"] }},
     auth = {{ user = "bot@example.com", token = "inline-test-token" }} }},
  {{ name = "servicenow", kind = "servicenow", role = "service", base_url = "http://127.0.0.1:9",
     auth = {{ user = "bot", token = "inline-test-token" }} }},
]
policy = {{ max_move_share = 1.0 }}

[storm]
{storm}
"#
    );
    parse_str(&text, Path::new("/tmp/twotrack-storm-test.toml")).expect("valid test config")
}

/// The audit of 300 ordinary items a tracker with one outage of 30 reports; and the outage's keys.
fn audited(storm: &str) -> (Report, Vec<String>) {
    let b = storm_support::backlog(8, 300, &[StormOptions { reports: 30, in_backlog: 0.3 }]);
    let mirror = Mirror::temporary().unwrap();
    for item in &b.items {
        mirror.upsert_item(item).unwrap();
    }
    let keys = b.storms[0].iter().map(|&i| b.items[i].key.clone()).collect();
    (twotrack::audit::audit(&config(storm), &mirror, None).unwrap(), keys)
}

#[test]
fn the_audit_reports_the_storm_in_every_format() {
    let (r, keys) = audited("");
    assert_eq!(r.storms.len(), 1, "{:#?}", r.storms);
    let s = &r.storms[0];
    assert_eq!((r.totals.storms, r.totals.storm_reports), (1, s.reports));
    let found: Vec<&str> = s.members.iter().map(|m| m.key.as_str()).collect();
    let hits = keys.iter().filter(|k| found.contains(&k.as_str())).count();
    assert!(hits as f64 >= 0.9 * keys.len() as f64, "{hits} of {} reports found", keys.len());
    assert!(s.by_tracker.contains_key("jira") && s.by_tracker.contains_key("servicenow"), "{:?}", s.by_tracker);
    assert!(s.reporters > 20, "many reporters: {}", s.reporters);
    assert_eq!(s.arrivals.iter().sum::<u64>(), s.reports);
    let parent = s.parent.as_ref().expect("a proposed parent");
    assert_eq!(parent.tracker, "servicenow");
    assert_eq!(s.impact, 1, "{} reporters reach wide: {:?}", s.reporters, s.derivation);
    assert!(s.derivation.iter().any(|d| d.contains("distinct reporters")), "{:?}", s.derivation);
    assert!(s.derivation.last().unwrap().contains("priority matrix"));
    // Findings about the storm's reports name it.
    assert!(r.findings.iter().filter(|f| f.storm == Some(s.id.as_str())).count() > 0);

    let html = r.render(Format::Html).unwrap();
    assert!(
        html.contains("Storms (1)") && html.contains("class=\"chart arrivals\""),
        "HTML has the storm and its chart"
    );
    assert!(html.contains(&s.members[0].key) && html.contains(&parent.text));
    let md = r.render(Format::Md).unwrap();
    assert!(md.contains("## Storms (1)") && md.contains("**Proposed parent:**") && md.contains(&s.priority_name));
    assert!(md.contains(&format!("| {} | ", s.members[s.members.len() - 1].key)), "every report is listed");
    let json: serde_json::Value = serde_json::from_str(&r.render(Format::Json).unwrap()).unwrap();
    assert_eq!(json["totals"]["storms"], 1);
    assert_eq!(json["storms"][0]["members"].as_array().unwrap().len() as u64, s.reports);
    assert_eq!(json["storms"][0]["parent"]["tracker"], "servicenow");
    let csv = r.render(Format::Csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let column = reader.headers().unwrap().iter().position(|h| h == "storm").expect("a storm column");
    assert!(reader.records().any(|row| row.unwrap().get(column) == Some(s.id.as_str())));
}

#[test]
fn storms_can_be_turned_off_and_tuned() {
    let (off, _) = audited("enabled = false");
    assert!(off.storms.is_empty() && off.totals.storms == 0);
    let html = off.render(Format::Html).unwrap();
    assert!(!html.contains("Storms ("));
    // A storm needs more reports than the outage drew.
    let (big, _) = audited("min_size = 200");
    assert!(big.storms.is_empty());
}

#[test]
fn a_bad_storm_table_is_reported_where_it_is() {
    let text = "[[tracker]]\nname = \"x\"\n\n[storm]\nmin_size = 1\nsimilarity = 2.0\n";
    let err = parse_str(text, Path::new("/tmp/t.toml")).unwrap_err();
    let problems: Vec<String> = err.problems().iter().map(|p| format!("{}:{} {}", p.line, p.col, p.message)).collect();
    let min = problems.iter().find(|p| p.contains("storm.min_size")).unwrap_or_else(|| panic!("{problems:?}"));
    assert!(min.starts_with("5:"), "at its line: {min}");
    assert!(problems.iter().any(|p| p.starts_with("6:") && p.contains("storm.similarity")), "{problems:?}");
}

#[test]
fn the_demo_report_shows_a_storm() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .args(["demo", "-q", "--out", out.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["totals"]["storms"], 1, "{}", json["storms"]);
    let reports = json["storms"][0]["reports"].as_u64().unwrap();
    assert!(reports >= 15, "the demo's outage draws 20 reports, {reports} found");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Storms (1)") && html.contains("chart arrivals"));
}
