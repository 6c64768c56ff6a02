//! Opens a generated report in headless Chromium: the charts and tables render, and a hostile summary
//! shows as text while nothing executes. CI installs Debian's chromium (.ci/run); without it this test
//! fails with instructions, unless TWOTRACK_SKIP_BROWSER=1 says to skip it.

use std::path::{Path, PathBuf};
use std::process::Command;

use twotrack::api::Item;
use twotrack::mirror::Mirror;
use twotrack::report::Format;

const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"].iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_string()))
    })
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
    let config = twotrack::config::parse_str(
        r#"
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
"#,
        &dir.join("twotrack.toml"),
    )
    .unwrap();
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
    ];
    for (tracker, key, ty, summary, description) in rows {
        let mut i = Item::new(tracker, key, summary);
        i.filed_type = ty.into();
        i.description = description.into();
        mirror.upsert_item(&i).unwrap();
    }
    let report = twotrack::audit::audit(&config, &mirror, None).unwrap();
    assert!(
        report.findings.iter().any(|f| f.title == HOSTILE),
        "the hostile item must be listed, or this test proves nothing about it: {:?}",
        report.findings.iter().map(|f| (&f.key, &f.action)).collect::<Vec<_>>()
    );
    let html = report.render(Format::Html).unwrap();
    let path = dir.join("report.html");
    std::fs::write(&path, html).unwrap();
    path
}

#[test]
fn report_renders_in_headless_chromium_and_hostile_text_stays_text() {
    let Some(bin) = chromium() else {
        if std::env::var_os("TWOTRACK_SKIP_BROWSER").is_some() {
            eprintln!("skipping: no chromium and TWOTRACK_SKIP_BROWSER is set");
            return;
        }
        panic!(
            "headless Chromium is needed for this test: `apt-get install chromium` (CI does), or set TWOTRACK_SKIP_BROWSER=1"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let report = write_report(dir.path());
    let url = format!("file://{}", report.display());

    let dom = headless(&bin, &dir.path().join("profile-dom")).arg("--dump-dom").arg(&url).output().unwrap();
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();

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
