//! The report at scale: a page that lists the findings that matter first and counts the rest stays
//! light whatever the number of findings, and the other formats still hold every finding.

use std::path::Path;
use std::process::Command;

use twotrack::mirror::Mirror;
use twotrack::report::{FindingRow, Format, FullLists, HtmlOptions, RowAction};

use crate::classify_support;
use crate::report_support;

use report_support::{OFFLINE_TRACKERS, big_report};

/// The keys of the findings table's rows, in the page's order.
fn listed(html: &str) -> Vec<String> {
    let table = &html[html.find("<table class=\"sortable\" id=\"findings\"").expect("the findings table")..];
    let body = &table[..table.find("</table>").unwrap()];
    body.split("<tr>")
        .skip(2)
        .map(|row| row.split("\">KEY-").nth(1).unwrap().split('<').next().unwrap())
        .map(|n| format!("KEY-{n}"))
        .collect()
}

#[test]
fn a_page_of_fifty_thousand_findings_lists_the_first_that_matter_and_counts_the_rest() {
    const N: usize = 50_000;
    let (report, rows) = big_report(N);
    let html = report.render(Format::Html).unwrap();

    // Light: the default page lists 500 findings; every finding on it would make it over 100 MB.
    assert!(html.len() < 1_500_000, "the page is {} bytes", html.len());
    let keys = listed(&html);
    assert_eq!(keys.len(), twotrack::report::HTML_FINDINGS);

    // Moves first, the most confident first, then reviews: 10,000 moves fill the page.
    let mut expected: Vec<&FindingRow> = rows.iter().collect();
    expected.sort_by(|a, b| a.action.cmp(&b.action).then(b.confidence.total_cmp(&a.confidence)));
    let expected: Vec<String> = expected.iter().take(keys.len()).map(|f| f.key.clone()).collect();
    assert_eq!(keys, expected);
    let top = rows.iter().filter(|f| f.action == RowAction::Move).max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    assert_eq!(keys[0], top.unwrap().key, "the most confident move heads the page");

    // The rest, counted by action and kind: 9,500 moves, 10,000 reviews, 15,000 fixes, 15,000 reports.
    for (action, kind, n) in [
        ("move", "misfiled", 9_500),
        ("review", "misfiled", 10_000),
        ("fix", "misrouted", 10_000),
        ("fix", "misprioritised", 5_000),
        ("report", "misprioritised", 15_000),
    ] {
        let row = format!(
            "<tr><td><span class=\"tag {action}\">{action}</span></td><td>{kind}</td><td class=\"num\">{n}</td></tr>"
        );
        assert!(html.contains(&row), "the rest counts {n} {action} {kind}");
    }
    assert!(html.contains("Not listed here: 49500 more findings"));
    // Where the full lists are: the command that writes them.
    assert!(html.contains("twotrack audit --format csv --out findings.csv"), "the page says how to get them all");
}

#[test]
fn the_page_lists_as_many_as_asked_and_points_at_the_lists_beside_it() {
    let (report, rows) = big_report(2_000);
    let opts = HtmlOptions { findings: 30, full_lists: FullLists::Beside(vec!["audit.findings.csv".into()]) };
    let html = report.render_html(&opts).unwrap();
    assert_eq!(listed(&html).len(), 30);
    assert!(html.contains("<a href=\"audit.findings.csv\">audit.findings.csv</a>"), "a link to the full list");
    assert!(html.contains("Not listed here: 1970 more findings"));

    // All of them fit on the page when asked: then there is nothing more to count.
    let all = report.render_html(&HtmlOptions { findings: 5_000, ..opts }).unwrap();
    assert_eq!(listed(&all).len(), rows.len());
    assert!(!all.contains("Not listed here"));
}

#[test]
fn csv_and_json_of_a_big_report_hold_every_finding_in_the_report_order() {
    let (report, rows) = big_report(20_000);
    let mut csv = Vec::new();
    report.write(Format::Csv, &HtmlOptions::default(), &mut csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let keys: Vec<String> = reader.records().map(|r| r.unwrap()[3].to_string()).collect();
    assert_eq!(keys.len(), rows.len());
    let order: Vec<String> = report.findings.iter().map(|f| f.key.to_string()).collect();
    assert_eq!(keys, order);

    let json: serde_json::Value = serde_json::from_str(&report.render(Format::Json).unwrap()).unwrap();
    let listed = json["findings"].as_array().unwrap();
    assert_eq!(listed.len(), rows.len());
    let first = rows.iter().find(|r| r.key == order[0]).unwrap();
    assert_eq!(listed[0]["target"]["note"], first.target.as_ref().unwrap().note.as_str(), "whole rows");
}

fn mirror_of_generated(dir: &Path) {
    std::fs::write(dir.join("twotrack.toml"), format!("{OFFLINE_TRACKERS}\n[mirror]\npath = \"mirror\"\n")).unwrap();
    let mirror = Mirror::open(&dir.join("mirror")).unwrap();
    for item in classify_support::generated(14, 200) {
        mirror.upsert_item(&item).unwrap();
    }
    mirror.flush().unwrap();
}

#[test]
fn audit_html_findings_caps_the_page_and_writes_every_finding_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    mirror_of_generated(dir.path());
    let page = dir.path().join("audit.html");
    let out = Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .arg("--config")
        .arg(dir.path().join("twotrack.toml"))
        .args(["audit", "--html-findings", "5", "--out"])
        .arg(&page)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    let rows =
        html.split("<table class=\"sortable\" id=\"findings\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert_eq!(rows.matches("<tr>").count(), 1 + 5, "a header and 5 findings");
    assert!(html.contains("<a href=\"audit.findings.csv\">"), "the page points at the full list");

    let csv = dir.path().join("audit.findings.csv");
    let all = csv::Reader::from_path(&csv).unwrap().records().count();
    assert!(all > 5, "every finding is in {}: {all}", csv.display());
    assert!(html.contains(&format!("Not listed here: {} more findings", all - 5)));
    assert!(
        stderr.contains(&format!("the page lists 5 of {all} findings; all of them: {}", csv.display())),
        "{stderr}"
    );
}
