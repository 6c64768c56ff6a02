//! The durable-record facility the outbox builds on: typed records with an atomic update, and
//! append-only logs, optionally written together.

use std::sync::Arc;
use std::thread;

use serde::{Deserialize, Serialize};
use twotrack::mirror::{Mirror, MirrorError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Step {
    done: u32,
    note: String,
}

fn step(done: u32) -> Step {
    Step { done, note: format!("step {done}") }
}

#[test]
fn put_get_remove_and_scan_by_prefix() {
    let mirror = Mirror::temporary().unwrap();
    let records = mirror.records("outbox").unwrap();
    assert!(records.is_empty());
    records.put("move/A-2", &step(2)).unwrap();
    records.put("move/A-1", &step(1)).unwrap();
    records.put("route/INC1", &step(9)).unwrap();
    assert_eq!(records.get::<Step>("move/A-1").unwrap(), Some(step(1)));
    assert_eq!(records.get::<Step>("move/A-3").unwrap(), None);

    let moves: Vec<(String, Step)> = records.scan_prefix("move/").collect::<Result<_, _>>().unwrap();
    assert_eq!(moves, vec![("move/A-1".into(), step(1)), ("move/A-2".into(), step(2))]);
    assert_eq!(records.len(), 3);

    assert!(records.remove("move/A-1").unwrap());
    assert!(!records.remove("move/A-1").unwrap());
    assert_eq!(records.scan_prefix::<Step>("").count(), 2);

    let other = mirror.records("other").unwrap();
    assert_eq!(other.get::<Step>("move/A-2").unwrap(), None, "namespaces are separate");
}

#[test]
fn a_record_of_another_shape_is_reported_not_misread() {
    let mirror = Mirror::temporary().unwrap();
    let records = mirror.records("outbox").unwrap();
    records.put("k", &"just a string").unwrap();
    let err = records.get::<Step>("k").unwrap_err();
    assert!(matches!(err, MirrorError::Corrupt { what: "record", .. }), "{err:?}");
    assert!(matches!(mirror.records("bad\0ns"), Err(MirrorError::InvalidName { .. })));
}

#[test]
fn update_is_atomic_under_concurrent_writers() {
    let mirror = Mirror::temporary().unwrap();
    let records = Arc::new(mirror.records("counters").unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let records = records.clone();
            thread::spawn(move || {
                for _ in 0..200 {
                    records.update("n", |n: Option<u64>| Some(n.unwrap_or(0) + 1)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(records.get::<u64>("n").unwrap(), Some(1600));
}

#[test]
fn update_can_create_keep_and_remove() {
    let mirror = Mirror::temporary().unwrap();
    let records = mirror.records("outbox").unwrap();
    assert_eq!(records.update("k", |s: Option<Step>| s.or(Some(step(1)))).unwrap(), Some(step(1)));
    assert_eq!(records.update("k", |s: Option<Step>| s.or(Some(step(5)))).unwrap(), Some(step(1)), "kept as is");
    assert_eq!(records.update("k", |_: Option<Step>| None).unwrap(), None);
    assert_eq!(records.get::<Step>("k").unwrap(), None);
}

#[test]
fn a_record_and_its_log_entry_are_written_together() {
    let mirror = Mirror::temporary().unwrap();
    let records = mirror.records("outbox").unwrap();
    let audit = mirror.log("audit").unwrap();
    for done in 1..=3 {
        let next = records
            .update_and_log("c1", &audit, |s: Option<Step>| {
                let next = step(s.map_or(1, |s| s.done + 1));
                let entry = format!("c1 reached {}", next.done);
                (Some(next), Some(entry))
            })
            .unwrap();
        assert_eq!(next, Some(step(done)));
    }
    // A no-op update logs nothing.
    records.update_and_log("c1", &audit, |s: Option<Step>| (s, None::<String>)).unwrap();

    let entries: Vec<_> = audit.entries::<String>().collect::<Result<_, _>>().unwrap();
    let texts: Vec<&str> = entries.iter().map(|e| e.entry.as_str()).collect();
    assert_eq!(texts, ["c1 reached 1", "c1 reached 2", "c1 reached 3"]);
    assert!(entries.windows(2).all(|w| w[0].id < w[1].id && w[0].at <= w[1].at));
    assert_eq!(records.get::<Step>("c1").unwrap(), Some(step(3)));
}

#[test]
fn log_ids_keep_increasing_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    let first = {
        let mirror = Mirror::open(&path).unwrap();
        mirror.append_log("audit", &"one").unwrap();
        mirror.append_log("audit", &"two").unwrap()
    };
    let mirror = Mirror::open(&path).unwrap();
    let third = mirror.append_log("audit", &"three").unwrap();
    assert!(third > first, "{third} > {first}");
    let log = mirror.log("audit").unwrap();
    let texts: Vec<String> = log.entries::<String>().map(|e| e.unwrap().entry).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(log.len(), 3);
}
