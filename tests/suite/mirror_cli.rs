//! `twotrack mirror stats` and `twotrack mirror export`, run as a user would.

use std::path::Path;

use assert_cmd::Command;
use chrono::DateTime;
use predicates::prelude::*;
use twotrack::api::connector::Cursor;
use twotrack::api::model::Item;
use twotrack::mirror::{Mirror, SyncRecord};

fn twotrack() -> Command {
    let mut cmd = Command::cargo_bin("twotrack").unwrap();
    cmd.env_remove("TWOTRACK_CONFIG");
    cmd
}

fn item(tracker: &str, key: &str, filed_type: &str, open: bool) -> Item {
    let mut item = Item::new(tracker, key, format!("summary of {key}"));
    item.filed_type = filed_type.into();
    item.open = open;
    item
}

/// A mirror with two Jira stories (one closed), a bug, and a ServiceNow incident; Jira synced once.
fn sample_mirror(path: &Path) -> Vec<Item> {
    let mirror = Mirror::open(path).unwrap();
    let jira =
        vec![item("jira", "A-1", "Story", true), item("jira", "A-2", "Story", false), item("jira", "A-3", "Bug", true)];
    mirror.writing().apply_page("jira", "jql", &jira, &Cursor::default()).unwrap();
    mirror.upsert_item(&item("snow", "INC1", "incident", true)).unwrap();
    let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    mirror.record_sync("jira", &SyncRecord { at, pulled: 3, new: 3, changed: 0, ok: true, error: None }).unwrap();
    mirror.flush().unwrap();
    jira
}

#[test]
fn stats_prints_a_table_per_tracker_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    sample_mirror(&path);
    let out =
        twotrack().args(["mirror", "stats", "--mirror"]).arg(&path).assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert!(
        lines.contains(&vec![
            "jira",
            "3",
            "2",
            "1",
            "2023-11-14",
            "22:13:20",
            "UTC",
            "ok:",
            "pulled",
            "3,",
            "3",
            "new,",
            "0",
            "changed"
        ]),
        "{text}"
    );
    assert!(lines.contains(&vec!["snow", "1", "1", "0", "never"]), "{text}");
    assert!(lines.contains(&vec!["total", "4", "3", "1"]), "{text}");
    assert!(lines.contains(&vec!["jira", "Story", "2", "1", "1"]), "{text}");
    assert!(lines.contains(&vec!["snow", "incident", "1", "1", "0"]), "{text}");
}

#[test]
fn stats_json_is_versioned_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    sample_mirror(&path);
    let out = twotrack()
        .args(["mirror", "stats", "--json", "--mirror"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["total"], serde_json::json!({"items": 4, "open": 3, "closed": 1}));
    let jira = &json["trackers"][0];
    assert_eq!(jira["name"], "jira");
    assert_eq!(jira["items"], 3);
    assert_eq!(jira["by_type"][0], serde_json::json!({"filed_type": "Bug", "items": 1, "open": 1, "closed": 0}));
    assert_eq!(jira["last_sync"]["ok"], true);
    assert_eq!(jira["last_sync"]["pulled"], 3);
    assert_eq!(json["trackers"][1]["last_sync"], serde_json::Value::Null);
}

#[test]
fn export_writes_json_lines_to_stdout_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    let jira = sample_mirror(&path);

    let out = twotrack().args(["mirror", "export", "--tracker", "jira", "--mirror"]).arg(&path).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let back: Vec<Item> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(back, jira);

    let file = dir.path().join("items.jsonl");
    twotrack()
        .args(["mirror", "export", "--mirror"])
        .arg(&path)
        .arg("--out")
        .arg(&file)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("exported 4 items"));
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);
    assert!(!dir.path().join("items.jsonl.partial").exists());
}

/// `--out` naming no regular file (a named pipe, as `/dev/null` is a device) is written to, never
/// replaced by a file of the export (which as root would have put a plain file in `/dev/null`'s place);
/// a symbolic link stays a link, and the file it names gets the export.
#[test]
fn export_writes_into_a_pipe_or_through_a_link_and_leaves_them_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    sample_mirror(&path);

    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo (coreutils) must be installed");
    assert!(made.success(), "mkfifo failed");
    // The reader takes whatever the export writes until it closes the pipe; an export that never
    // opens the pipe leaves it waiting, so the test waits for it only so long.
    let (read, got) = std::sync::mpsc::channel();
    std::thread::spawn({
        let fifo = fifo.clone();
        move || read.send(std::fs::read_to_string(&fifo).unwrap())
    });
    twotrack().args(["mirror", "export", "--mirror"]).arg(&path).arg("--out").arg(&fifo).assert().success();
    let through = got.recv_timeout(std::time::Duration::from_secs(30)).expect("the export never wrote into the pipe");
    assert_eq!(through.lines().count(), 4, "the export went through the pipe");
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the pipe is still a pipe");
    assert!(!dir.path().join("pipe.partial").exists());

    let real = dir.path().join("real.jsonl");
    std::fs::write(&real, "old\n").unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    twotrack().args(["mirror", "export", "--mirror"]).arg(&path).arg("--out").arg(&link).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert_eq!(std::fs::read_to_string(&real).unwrap().lines().count(), 4, "the file it names has the export");
}

#[test]
fn a_mirror_held_by_another_process_is_reported_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    sample_mirror(&path);
    let _held = Mirror::open(&path).unwrap();
    twotrack()
        .args(["mirror", "stats", "--mirror"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is locked by another twotrack process"));
}

#[test]
fn a_missing_mirror_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere");
    twotrack()
        .args(["mirror", "export", "--mirror"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("there is no mirror at").and(predicate::str::contains("twotrack sync")));
    assert!(!path.exists());
}

/// A minimal configuration whose mirror is `data/mirror`, relative to the file.
const CONFIG: &str = r#"
[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "https://example.atlassian.net"
auth = { user = "bot@example.com", token = { file = "jira.token" } }
scope = { projects = ["SHOP"] }

[[tracker]]
name = "snow"
kind = "servicenow"
role = "service"
base_url = "https://example.service-now.com"
auth = { type = "bearer", token = { file = "snow.token" } }

[mirror]
path = "data/mirror"
"#;

#[test]
fn without_the_flag_the_mirror_path_comes_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jira.token"), "t").unwrap();
    std::fs::write(dir.path().join("snow.token"), "t").unwrap();
    let config = dir.path().join("twotrack.toml");
    std::fs::write(&config, CONFIG).unwrap();
    sample_mirror(&dir.path().join("data").join("mirror"));
    twotrack()
        .args(["mirror", "stats", "--config"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("data/mirror").and(predicate::str::is_match(r"total\s+4\s+3\s+1").unwrap()));

    twotrack()
        .current_dir(dir.path())
        .args(["mirror", "stats", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}
