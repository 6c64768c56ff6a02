//! The mirror as a library: batch upserts with their cursor, revisions and history, lookups, the lock,
//! reopening, stats and export.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use twotrack::api::connector::Cursor;
use twotrack::api::model::Item;
use twotrack::mirror::{Counts, Mirror, MirrorError, PageOutcome, SyncRecord, Upsert};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::seconds(seconds)
}

fn item(tracker: &str, key: &str, updated: i64) -> Item {
    let mut item = Item::new(tracker, key, format!("summary of {key}"));
    item.filed_type = "Story".into();
    item.updated = at(updated);
    item
}

/// The cursor after ingesting `items` on top of `cursor`.
fn advanced(mut cursor: Cursor, items: &[Item]) -> Cursor {
    for item in items {
        cursor.advance(item);
    }
    cursor
}

fn outcome(new: usize, changed: usize, unchanged: usize) -> PageOutcome {
    PageOutcome { new, changed, unchanged }
}

#[test]
fn apply_page_counts_new_changed_and_unchanged_items() {
    let mirror = Mirror::temporary().unwrap();
    let page1 = vec![item("jira", "A-1", 1), item("jira", "A-2", 2)];
    let c1 = advanced(Cursor::default(), &page1);
    assert_eq!(mirror.writing().apply_page("jira", "jql", &page1, &c1).unwrap(), outcome(2, 0, 0));

    let mut edited = item("jira", "A-2", 3);
    edited.summary = "edited".into();
    let page2 = vec![item("jira", "A-1", 1), edited.clone(), item("jira", "A-3", 3)];
    let c2 = advanced(c1, &page2);
    assert_eq!(mirror.writing().apply_page("jira", "jql", &page2, &c2).unwrap(), outcome(1, 1, 1));

    assert_eq!(mirror.cursor("jira", "jql").unwrap(), Some(c2.clone()));
    assert_eq!(mirror.get("jira", "A-2").unwrap(), Some(edited));
    assert_eq!(mirror.count(Some("jira")).unwrap(), 3);
    assert_eq!(mirror.cursor("jira", "other").unwrap(), None);

    assert_eq!(
        mirror.writing().apply_page("jira", "jql", &page2, &c2).unwrap(),
        outcome(0, 0, 3),
        "re-applying changes nothing"
    );
}

#[test]
fn any_field_difference_is_a_change_and_only_changes_make_history() {
    let mirror = Mirror::temporary().unwrap();
    let original = item("jira", "A-1", 1);
    assert_eq!(mirror.upsert_item(&original).unwrap(), Upsert::New);
    assert_eq!(mirror.upsert_item(&original).unwrap(), Upsert::Unchanged);
    assert_eq!(mirror.history("jira", "A-1").unwrap(), vec![(1, original.clone())]);

    let mut labelled = original.clone();
    labelled.fields.insert("sprint".into(), "7".into());
    assert_eq!(mirror.upsert_item(&labelled).unwrap(), Upsert::Changed);
    let mut closed = labelled.clone();
    closed.open = false;
    assert_eq!(mirror.upsert_item(&closed).unwrap(), Upsert::Changed);
    assert_eq!(mirror.upsert_item(&closed).unwrap(), Upsert::Unchanged);

    let history = mirror.history("jira", "A-1").unwrap();
    assert_eq!(history, vec![(1, original), (2, labelled), (3, closed.clone())]);
    let versioned = mirror.get_versioned("jira", "A-1").unwrap().unwrap();
    assert_eq!((versioned.rev, versioned.item), (3, closed));
    assert!(versioned.first_seen <= versioned.last_changed);
    assert!(mirror.history("jira", "A-").unwrap().is_empty(), "a key prefix is not the key");
}

#[test]
fn a_page_that_fails_part_way_writes_nothing_and_keeps_the_cursor() {
    let mirror = Mirror::temporary().unwrap();
    let first = vec![item("jira", "A-1", 1)];
    let c1 = advanced(Cursor::default(), &first);
    mirror.writing().apply_page("jira", "jql", &first, &c1).unwrap();

    let mut changed = item("jira", "A-1", 5);
    changed.summary = "changed".into();
    // The third item fails inside the transaction, after the first two were staged.
    let page = vec![changed, item("jira", "A-2", 5), item("jira", "BAD\0KEY", 5)];
    let err = mirror.writing().apply_page("jira", "jql", &page, &advanced(c1.clone(), &page)).unwrap_err();
    assert!(matches!(err, MirrorError::InvalidName { what: "item key", .. }), "{err:?}");

    assert_eq!(mirror.cursor("jira", "jql").unwrap(), Some(c1));
    assert_eq!(mirror.get("jira", "A-1").unwrap(), Some(item("jira", "A-1", 1)));
    assert_eq!(mirror.get("jira", "A-2").unwrap(), None);
    assert_eq!(mirror.history("jira", "A-1").unwrap().len(), 1);
    assert!(mirror.find("a-2").unwrap().is_empty(), "nor is it found by its key");
}

#[test]
fn items_of_another_tracker_and_bad_names_are_refused() {
    let mirror = Mirror::temporary().unwrap();
    let err = mirror.writing().apply_page("jira", "jql", &[item("snow", "INC1", 1)], &Cursor::default()).unwrap_err();
    assert!(matches!(err, MirrorError::WrongTracker { .. }), "{err:?}");
    assert!(err.to_string().contains("INC1"));
    for (tracker, scope) in [("", "jql"), ("jira", ""), ("ji\0ra", "jql")] {
        let err = mirror.writing().apply_page(tracker, scope, &[], &Cursor::default()).unwrap_err();
        assert!(matches!(err, MirrorError::InvalidName { .. }), "{err:?}");
    }
    assert_eq!(mirror.count(None).unwrap(), 0);
}

#[test]
fn find_looks_up_a_key_in_every_tracker_ignoring_case() {
    let mirror = Mirror::temporary().unwrap();
    let items = [item("jira", "SHOP-12", 1), item("jira", "SHOP-123", 2)];
    mirror.writing().apply_page("jira", "jql", &items, &Cursor::default()).unwrap();
    mirror.upsert_item(&item("jira-dc", "SHOP-12", 3)).unwrap();
    mirror.upsert_item(&item("snow", "INC0010001", 4)).unwrap();

    let found = mirror.find("shop-12").unwrap();
    let trackers: Vec<&str> = found.iter().map(|i| i.tracker.as_str()).collect();
    assert_eq!(trackers, ["jira", "jira-dc"]);
    assert!(found.iter().all(|i| i.key == "SHOP-12"));
    assert_eq!(mirror.find("Inc0010001").unwrap().len(), 1);
    assert!(mirror.find("SHOP-1").unwrap().is_empty());
    assert!(mirror.find("").unwrap().is_empty());
    assert_eq!(mirror.trackers().unwrap(), ["jira", "jira-dc", "snow"]);
}

#[test]
fn cursors_reset_per_tracker_and_sync_records_are_kept() {
    let mirror = Mirror::temporary().unwrap();
    let cursor = advanced(Cursor::default(), &[item("snow", "INC1", 1)]);
    for (tracker, scope) in [("snow", "incident"), ("snow", "sc_req_item"), ("snow-dev", "incident")] {
        mirror.writing().apply_page(tracker, scope, &[], &cursor).unwrap();
    }
    assert_eq!(mirror.reset_cursors("snow").unwrap(), 2);
    assert_eq!(mirror.cursor("snow", "incident").unwrap(), None);
    assert_eq!(mirror.cursor("snow-dev", "incident").unwrap(), Some(cursor), "a tracker sharing the prefix");

    assert_eq!(mirror.last_sync("snow").unwrap(), None);
    let record = SyncRecord { at: at(9), pulled: 3, new: 2, changed: 1, ok: false, error: Some("boom".into()) };
    mirror.record_sync("snow", &record).unwrap();
    assert_eq!(mirror.last_sync("snow").unwrap(), Some(record));
}

#[test]
fn data_survives_reopening_and_a_second_open_is_told_about_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("mirror");
    let page = vec![item("jira", "A-1", 1)];
    let cursor = advanced(Cursor::default(), &page);
    {
        let mirror = Mirror::open(&path).unwrap();
        mirror.writing().apply_page("jira", "jql", &page, &cursor).unwrap();
        let err = Mirror::open(&path).unwrap_err();
        assert!(matches!(err, MirrorError::Locked { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("locked by another twotrack process") && text.contains("nested"), "{text}");
    }
    let mirror = Mirror::open(&path).unwrap();
    assert_eq!(mirror.get("jira", "A-1").unwrap(), Some(page[0].clone()));
    assert_eq!(mirror.cursor("jira", "jql").unwrap(), Some(cursor));
    assert_eq!(mirror.path(), path);
}

#[test]
fn a_path_that_cannot_be_a_mirror_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = Mirror::open(&file).unwrap_err();
    assert!(matches!(err, MirrorError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn stats_count_items_by_tracker_type_and_state() {
    let mirror = Mirror::temporary().unwrap();
    let mut bug = item("jira", "A-2", 2);
    bug.filed_type = "Bug".into();
    bug.open = false;
    mirror
        .writing()
        .apply_page("jira", "jql", &[item("jira", "A-1", 1), bug, item("jira", "A-3", 3)], &Cursor::default())
        .unwrap();
    let mut incident = item("snow", "INC1", 1);
    incident.filed_type = "incident".into();
    mirror.upsert_item(&incident).unwrap();
    let record = SyncRecord { at: at(5), pulled: 3, new: 3, changed: 0, ok: true, error: None };
    mirror.record_sync("jira", &record).unwrap();
    mirror.record_sync("never-pulled", &record).unwrap();

    let stats = mirror.stats().unwrap();
    let jira = &stats.trackers["jira"];
    assert_eq!(jira.total, Counts { items: 3, open: 2, closed: 1 });
    let by_type: BTreeMap<&str, Counts> = jira.by_type.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        by_type,
        BTreeMap::from([
            ("Bug", Counts { items: 1, open: 0, closed: 1 }),
            ("Story", Counts { items: 2, open: 2, closed: 0 })
        ])
    );
    assert_eq!(jira.last_sync, Some(record));
    assert_eq!(stats.trackers["snow"].total, Counts { items: 1, open: 1, closed: 0 });
    assert_eq!(stats.trackers["snow"].last_sync, None);
    assert_eq!(stats.trackers["never-pulled"].total, Counts::default());
    assert_eq!(stats.total(), Counts { items: 4, open: 3, closed: 1 });
}

#[test]
fn export_writes_json_lines_that_read_back_as_the_items() {
    let mirror = Mirror::temporary().unwrap();
    let mut rich = item("jira", "A-1", 1);
    rich.labels = vec!["twotrack-keep".into()];
    rich.description = "line one\nline two \"quoted\"".into();
    rich.fields.insert("story_points".into(), "3".into());
    let jira = vec![rich, item("jira", "A-2", 2)];
    mirror.writing().apply_page("jira", "jql", &jira, &Cursor::default()).unwrap();
    mirror.upsert_item(&item("snow", "INC1", 1)).unwrap();

    let mut out = Vec::new();
    assert_eq!(mirror.export_jsonl(&mut out, Some("jira")).unwrap(), 2);
    let text = String::from_utf8(out).unwrap();
    let back: Vec<Item> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(back, jira);

    let mut all = Vec::new();
    assert_eq!(mirror.export_jsonl(&mut all, None).unwrap(), 3);
    assert_eq!(String::from_utf8(all).unwrap().lines().count(), 3);
}

/// A mirror of ten thousand Jira items, `A-00000` to `A-09999`, pulled in twenty pages of 500.
fn ten_thousand() -> Mirror {
    let mirror = Mirror::temporary().unwrap();
    let mut cursor = Cursor::default();
    for page in 0..20 {
        let items: Vec<Item> = (0..500).map(|i| item("jira", &format!("A-{:05}", page * 500 + i), page)).collect();
        cursor = advanced(cursor, &items);
        assert_eq!(mirror.writing().apply_page("jira", "jql", &items, &cursor).unwrap().new, 500);
    }
    mirror
}

#[test]
fn items_stream_ten_thousand_items_in_key_order() {
    let mirror = ten_thousand();
    mirror.upsert_item(&item("snow", "INC1", 1)).unwrap();

    let mut iter = mirror.items(Some("jira"));
    assert_eq!(iter.next().unwrap().unwrap().key, "A-00000");
    let mut seen = 1;
    let mut last = String::from("A-00000");
    for item in iter {
        let item = item.unwrap();
        assert!(item.key > last && item.tracker == "jira");
        last = item.key;
        seen += 1;
    }
    assert_eq!((seen, last.as_str()), (10_000, "A-09999"));
    assert_eq!(mirror.items(None).count(), 10_001);
    assert_eq!(mirror.count(None).unwrap(), 10_001);
    assert_eq!(mirror.count(Some("snow")).unwrap(), 1);
}

/// The export is written on every core: ten thousand items (several chunks) still come out in the
/// mirror's order, each line the item it was; an output that fails part-way is the export's error.
#[test]
fn a_large_export_keeps_the_mirror_order_and_stops_at_a_failed_write() {
    let mirror = ten_thousand();
    let mut out = Vec::new();
    assert_eq!(mirror.export_jsonl(&mut out, None).unwrap(), 10_000);
    let back: Vec<Item> = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let stored: Vec<Item> = mirror.items(None).map(Result::unwrap).collect();
    assert_eq!(back, stored);

    /// Takes `room` bytes, then fails as a closed pipe does.
    struct Closing {
        room: usize,
    }
    impl std::io::Write for Closing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match mirror.export_jsonl(Closing { room: 100_000 }, None) {
        Err(MirrorError::Export(e)) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe),
        other => panic!("a closed output is the export's error: {other:?}"),
    }
}

#[test]
fn clones_share_one_store() {
    let mirror = Mirror::temporary().unwrap();
    let clone = mirror.clone();
    clone.upsert_item(&item("jira", "A-1", 1)).unwrap();
    assert!(mirror.get("jira", "A-1").unwrap().is_some());
    mirror.flush().unwrap();
    assert!(mirror.size_on_disk().unwrap() > 0);
}
