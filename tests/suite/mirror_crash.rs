//! A writer killed with SIGKILL in the middle of a sync leaves a mirror whose cursor never points past
//! what is stored: every item the cursor covers is present at its latest covered revision, nothing
//! beyond the cursor is, and a restarted writer resumes exactly where the stored items end.
//!
//! The writer is this test binary, re-run as a child process for the test [`crash_writer`].

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use twotrack::api::model::Item;
use twotrack::mirror::Mirror;

/// Set (to a mirror path) when this binary runs as the writer child.
const CHILD_ENV: &str = "TWOTRACK_MIRROR_CRASH_CHILD";
const TRACKER: &str = "jira";
const SCOPE: &str = "jql";
/// Events per page.
const PAGE: u64 = 50;
/// Distinct item keys; events beyond it edit items again (changes with history).
const KEYS: u64 = 1_500;
/// The writer flushes every this many pages, like a sync that commits its progress.
const FLUSH_EVERY: u64 = 10;

/// Event `n` (from 1) sets item `K-{n % KEYS}` to its revision stamped `n`.
fn event(n: u64) -> Item {
    let mut item = Item::new(TRACKER, format!("K-{}", n % KEYS), format!("event {n}"));
    item.updated = stamp(n);
    item
}

fn stamp(n: u64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap()
}

/// The last event the cursor covers (0 before any).
fn covered(mirror: &Mirror) -> u64 {
    match mirror.cursor(TRACKER, SCOPE).unwrap().and_then(|c| c.since) {
        None => 0,
        Some(since) => (since - stamp(0)).num_seconds() as u64,
    }
}

/// Write `pages` pages (forever if `None`) after what the mirror covers, printing each page number.
fn write_pages(mirror: &Mirror, pages: Option<u64>) {
    let mut cursor = mirror.cursor(TRACKER, SCOPE).unwrap().unwrap_or_default();
    let mut next = covered(mirror) + 1;
    let mut written = 0;
    while pages.is_none_or(|p| written < p) {
        let items: Vec<Item> = (next..next + PAGE).map(event).collect();
        for item in &items {
            cursor.advance(item);
        }
        mirror.writing().apply_page(TRACKER, SCOPE, &items, &cursor).unwrap();
        next += PAGE;
        written += 1;
        if written % FLUSH_EVERY == 0 {
            mirror.flush().unwrap();
        }
        println!("page {written}");
    }
}

/// The mirror holds exactly the state after event `last`: each key at its latest event up to `last`,
/// with one revision per event, and nothing else.
fn assert_state_after(mirror: &Mirror, last: u64) {
    let mut expected_keys = 0;
    for k in 0..KEYS {
        let events: Vec<u64> = (1..=last).filter(|n| n % KEYS == k).collect();
        let key = format!("K-{k}");
        match events.last() {
            None => assert_eq!(mirror.get(TRACKER, &key).unwrap(), None, "{key} is beyond the cursor"),
            Some(&n) => {
                expected_keys += 1;
                let stored = mirror.get_versioned(TRACKER, &key).unwrap();
                let stored = stored.unwrap_or_else(|| panic!("{key} is covered by the cursor (event {n}) but missing"));
                assert_eq!(stored.item, event(n), "{key} should be at event {n}");
                assert_eq!(stored.rev, events.len() as u64, "{key} revisions");
            }
        }
    }
    assert_eq!(mirror.count(None).unwrap(), expected_keys);
}

#[test]
fn crash_writer() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        let mirror = Mirror::open(std::path::Path::new(&path)).unwrap();
        write_pages(&mirror, None);
        return;
    }
    // Run in-process, the writer is checked the same way (and this test is not a no-op).
    let mirror = Mirror::temporary().unwrap();
    write_pages(&mirror, Some(3));
    assert_eq!(covered(&mirror), 3 * PAGE);
    write_pages(&mirror, Some(2));
    assert_state_after(&mirror, 5 * PAGE);
}

fn spawn_writer(path: &std::path::Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "mirror_crash::crash_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Wait until the child printed `page {pages}`.
fn wait_for_page(rx: &mpsc::Receiver<String>, pages: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let want = format!("page {pages}");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line == want => return,
            Ok(_) => {}
            Err(e) => panic!("the writer did not reach {want}: {e}"),
        }
    }
}

#[test]
fn a_writer_killed_mid_sync_leaves_a_consistent_mirror_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    let mut last = 0;
    // Kill at different depths; each round resumes from what the previous one left.
    for (round, pages) in [23u64, 37, 31].into_iter().enumerate() {
        let (mut child, rx) = spawn_writer(&path);
        wait_for_page(&rx, pages);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let mirror = Mirror::open(&path).unwrap();
        let now = covered(&mirror);
        let flushed = (pages / FLUSH_EVERY) * FLUSH_EVERY * PAGE;
        assert!(now >= last + flushed, "round {round}: flushed pages survive ({now} >= {last} + {flushed})");
        assert_eq!(now % PAGE, 0, "round {round}: the cursor ends on a page boundary");
        assert_state_after(&mirror, now);
        last = now;
    }
    assert!(last > KEYS, "the run went past the key space, so changes and history were exercised");
}
