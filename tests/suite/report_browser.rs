//! Opens a generated report in headless Chromium: the charts and tables render, and a hostile summary
//! shows as text while nothing executes. CI installs Debian's chromium (.ci/run); without it this test
//! fails with instructions, unless TWOTRACK_SKIP_BROWSER=1 says to skip it.

use std::path::{Path, PathBuf};
use std::process::Command;

use twotrack::api::Item;
use twotrack::mirror::Mirror;
use twotrack::report::Format;

use crate::report_support;

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

/// A title that would make the findings table screens wide: long, with a word longer than any column.
const LONG_TITLE: &str = "Please restore the orders database from last night's backup, someone dropped a table in \
    production and now https://intranet.example.com/reports/orders/2025/quarterly/export?format=xlsx&include=all&\
    page=1&per_page=1000&sort=created_at&direction=descending&filter=region:emea,status:open,owner:finance-team \
    fails for the whole finance team every single morning since Monday, and we need it back before the audit";

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()))
    })
}

/// The browser the tests drive; `None` (skip the test, said on stderr) only when there is none and
/// `TWOTRACK_SKIP_BROWSER` is set; without a browser otherwise, the test fails saying what to install.
fn browser() -> Option<PathBuf> {
    if let Some(bin) = chromium() {
        return Some(bin);
    }
    if std::env::var_os("TWOTRACK_SKIP_BROWSER").is_some() {
        eprintln!("skipping: no chromium and TWOTRACK_SKIP_BROWSER is set");
        return None;
    }
    panic!(
        "headless Chromium is needed for this test: `apt-get install chromium` (CI does), or set TWOTRACK_SKIP_BROWSER=1"
    );
}

/// The DOM Chromium lays out for the page at `url` (its window `width` pixels wide, if given).
fn dump_dom(bin: &Path, profile: &Path, width: Option<u64>, url: &str) -> String {
    let mut c = headless(bin, profile);
    if let Some(width) = width {
        c.arg(format!("--window-size={width},900"));
    }
    let out = c.arg("--dump-dom").arg(url).output().unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn headless(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=2000",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn write_report(dir: &Path) -> PathBuf {
    let config = twotrack::config::parse_str(report_support::OFFLINE_TRACKERS, &dir.join("twotrack.toml")).unwrap();
    let mirror = Mirror::open(&dir.join("mirror")).unwrap();
    // The hostile summary sits on an item whose description makes it clearly misfiled, so it is listed.
    let value_story = "As a mobile user I want a new dark mode feature in the app. Acceptance criteria: \
                       the theme follows the system setting. Story points: 3.";
    let rows = [
        ("jira", "SHOP-1", "Story", "As a shopper I want to save my cart for later", ""),
        ("jira", "SHOP-2", "Task", "Please reset the password for user jdoe, she is locked out of her account", ""),
        ("servicenow", "INC0010001", "incident", "Checkout is down for everyone since 2am", ""),
        ("servicenow", "INC0010002", "incident", "Feature request: add a dark mode to the mobile app", ""),
        ("servicenow", "STRY0010003", "rm_story", HOSTILE, value_story),
        ("jira", "SHOP-3", "Task", LONG_TITLE, ""),
    ];
    for (tracker, key, ty, summary, description) in rows {
        let mut i = Item::new(tracker, key, summary);
        i.filed_type = ty.into();
        i.description = description.into();
        mirror.upsert_item(&i).unwrap();
    }
    let report = twotrack::audit::audit(&config, &mirror, None).unwrap();
    let findings: Vec<_> = report.findings.rows().collect::<Result<_, _>>().unwrap();
    assert!(
        findings.iter().any(|f| f.title == LONG_TITLE),
        "the long title must be listed, or this test proves nothing about the layout"
    );
    assert!(
        findings.iter().any(|f| f.title == HOSTILE),
        "the hostile item must be listed, or this test proves nothing about it: {:?}",
        findings.iter().map(|f| (&f.key, &f.action)).collect::<Vec<_>>()
    );
    let html = report.render(Format::Html).unwrap();
    let path = dir.join("report.html");
    std::fs::write(&path, html).unwrap();
    path
}

#[test]
fn report_renders_in_headless_chromium_and_hostile_text_stays_text() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let report = write_report(dir.path());
    let url = format!("file://{}", report.display());

    let dom = dump_dom(&bin, &dir.path().join("profile-dom"), None, &url);

    // Charts and tables are in the rendered DOM.
    for id in ["chart-mix", "chart-findings", "chart-confidence", "chart-queues"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "chart #{id} missing from the DOM");
    }
    assert!(dom.matches("<rect").count() >= 4, "the charts have bars");
    assert!(dom.contains("id=\"trackers\"") && dom.contains("id=\"findings\""), "tables render");
    assert!(dom.contains("SHOP-2") && dom.contains("INC0010002"), "findings are listed");
    // The report's own script ran (allowed by its hash in the Content-Security-Policy).
    assert!(dom.contains("data-js=\"ready\""), "the report's script did not run");

    // The hostile summary is text: escaped in the DOM, no element was created from it, nothing ran.
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "hostile summary not shown as text"
    );
    assert_eq!(dom.matches("<script").count(), 1, "only the report's own script element exists");
    assert!(!dom.contains("<img"), "no image element was injected");

    let shot = dir.path().join("report.png");
    let out = headless(&bin, &dir.path().join("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1600")
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success(), "screenshot failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
    assert!(png.len() > 20_000, "the screenshot has content ({} bytes)", png.len());
}

#[test]
fn the_findings_table_fits_the_window_however_long_a_title() {
    let Some(bin) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let html = std::fs::read_to_string(write_report(dir.path())).unwrap();
    // The full title stays one hover away (maud escapes '&' in attributes).
    let attribute = format!("title=\"{}\"", LONG_TITLE.replace('&', "&amp;"));
    assert!(html.contains(&attribute), "the full title in a title attribute");
    // Measure the laid-out page: a copy of the report with a measuring script (and without the
    // Content-Security-Policy that would block it).
    let start = html.find("<meta http-equiv=\"Content-Security-Policy\"").expect("the CSP meta");
    let end = start + html[start..].find('>').unwrap() + 1;
    let measure = "<script>var t=document.getElementById('findings').getBoundingClientRect();\
        document.body.setAttribute('data-table-right',Math.ceil(t.right));\
        document.body.setAttribute('data-page-width',document.documentElement.scrollWidth);\
        document.body.setAttribute('data-viewport',window.innerWidth);</script></body>";
    let probe = format!("{}{}", &html[..start], &html[end..]).replace("</body>", measure);
    let path = dir.path().join("measure.html");
    std::fs::write(&path, probe).unwrap();
    for width in [1280, 1024] {
        let profile = dir.path().join(format!("profile-{width}"));
        let dom = dump_dom(&bin, &profile, Some(width), &format!("file://{}", path.display()));
        let number = |name: &str| -> u64 {
            let at = dom.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("{name} not measured"));
            let rest = &dom[at + name.len() + 2..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        };
        let (right, page, viewport) = (number("data-table-right"), number("data-page-width"), number("data-viewport"));
        assert!(viewport > 0 && viewport <= width, "viewport {viewport}");
        assert!(right <= viewport, "at {width}px the findings table ends at {right}px, past the window ({viewport}px)");
        assert!(page <= viewport, "at {width}px the page is {page}px wide: it scrolls sideways");
    }
}

#[test]
fn the_page_of_a_fifty_thousand_finding_audit_renders_whole() {
    let Some(bin) = browser() else { return };
    let (report, _) = report_support::big_report(50_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.html");
    std::fs::write(&path, report.render(Format::Html).unwrap()).unwrap();
    let dom = dump_dom(&bin, &dir.path().join("profile-big"), None, &format!("file://{}", path.display()));
    // Laid out to the end: the listed findings, the counts of the rest, and the script ran.
    let table = &dom[dom.find("id=\"findings\"").expect("the findings table")..];
    let rows = table[..table.find("</table>").expect("the whole table")].matches("<tr>").count();
    assert_eq!(rows, 1 + twotrack::report::HTML_FINDINGS, "a header and the listed findings");
    assert!(dom.contains("Not listed here: 49500 more findings"), "the counts of the rest");
    assert!(dom.contains("data-js=\"ready\""), "the report's script ran over the whole page");
}
