//! The findings of a report, in bounded memory: each finding's row is written once, in a compact binary
//! form (`postcard`: no field names, no escaping; a third smaller than JSON and quicker both ways), to
//! a spill (in memory while small, then an unnamed temporary file), and only a compact entry per
//! finding stays in memory (what the order, the counts and the daemon's gauges need). The renderers
//! read the rows back one at a time, in the report's order. At 1,000,000 items per tracker an audit
//! finds about half a million findings: their rows (reasons, notes) would take most of a gigabyte.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{FindingRow, RenderError, RowAction};
use crate::plan::{FindingKind, ItemKeys};

/// The spill stays in memory up to this many bytes of rows; past it, the rows go to a temporary file.
const IN_MEMORY: usize = 8 << 20;

/// What stays in memory of one finding.
#[derive(Debug, Clone)]
struct Entry {
    tracker: u16,
    kind: FindingKind,
    action: RowAction,
    waits: bool,
    storm: Option<u32>,
    confidence: f64,
    /// Where its key is in the keys of every finding (start, end): one allocation for all of them,
    /// not one each (an audit at 1,000,000 items per tracker finds about 450,000).
    key: (u32, u32),
    at: u64,
    len: u32,
}

/// The key of entry `e` in `keys`.
fn key<'k>(keys: &'k str, e: &Entry) -> &'k str {
    keys.get(e.key.0 as usize..e.key.1 as usize).unwrap_or_default()
}

/// One finding, as far as its compact entry tells (see [`Findings::rows`] for the whole row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FindingRef<'a> {
    pub tracker: &'a str,
    pub key: &'a str,
    pub kind: FindingKind,
    pub action: RowAction,
    pub confidence: f64,
    pub waits: bool,
    pub storm: Option<&'a str>,
}

/// Where the rows are.
#[derive(Debug, Default)]
struct Spill {
    /// The rows not in the file (all of them while there is no file).
    memory: Vec<u8>,
    file: Option<File>,
    /// Bytes in the file.
    in_file: u64,
}

impl Spill {
    fn push(&mut self, row: &FindingRow) -> Result<(u64, u32), RenderError> {
        let at = self.in_file + self.memory.len() as u64;
        postcard::to_io(row, &mut self.memory)?;
        let len = (self.in_file + self.memory.len() as u64 - at) as u32;
        if self.memory.len() >= IN_MEMORY {
            self.flush()?;
        }
        Ok((at, len))
    }

    /// Move the rows in memory to the file (made on first use).
    fn flush(&mut self) -> Result<(), RenderError> {
        if self.memory.is_empty() {
            return Ok(());
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(tempfile::tempfile().map_err(RenderError::Spill)?),
        };
        file.write_all(&self.memory).map_err(RenderError::Spill)?;
        self.in_file += self.memory.len() as u64;
        self.memory = Vec::new();
        Ok(())
    }

    fn read(&self, at: u64, len: u32) -> Result<FindingRow, RenderError> {
        let (at, len) = (at as usize, len as usize);
        let bytes = match &self.file {
            Some(file) => {
                let mut buf = vec![0; len];
                file.read_exact_at(&mut buf, at as u64).map_err(RenderError::Spill)?;
                std::borrow::Cow::Owned(buf)
            }
            None => std::borrow::Cow::Borrowed(self.memory.get(at..at + len).ok_or_else(|| {
                RenderError::Spill(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "a finding past the end"))
            })?),
        };
        Ok(postcard::from_bytes(&bytes)?)
    }
}

/// Names that repeat across findings (trackers, storms), each held once.
#[derive(Debug, Clone, Default)]
struct Names {
    names: Vec<Box<str>>,
    index: BTreeMap<Box<str>, usize>,
}

impl Names {
    fn id(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.names.push(name.into());
        self.index.insert(name.into(), self.names.len() - 1);
        self.names.len() - 1
    }

    fn get(&self, i: usize) -> &str {
        self.names.get(i).map_or("", |n| n)
    }
}

/// Collects the findings of a report as they are found; [`FindingsWriter::finish`] orders them.
#[derive(Debug, Default)]
pub struct FindingsWriter {
    entries: Vec<Entry>,
    keys: String,
    names: Names,
    spill: Spill,
}

impl FindingsWriter {
    pub fn push(&mut self, row: &FindingRow) -> Result<(), RenderError> {
        let (at, len) = self.spill.push(row)?;
        let tracker = self.names.id(&row.tracker);
        let start = self.keys.len();
        self.keys.push_str(&row.key);
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(self.keys.len())) else {
            return Err(RenderError::TooMany("their keys take more than 4 GiB"));
        };
        self.entries.push(Entry {
            tracker: u16::try_from(tracker).unwrap_or(u16::MAX),
            kind: row.kind,
            action: row.action,
            waits: row.waits,
            storm: None,
            confidence: row.confidence,
            key: (start, end),
            at,
            len,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The findings in the report's order: moves, then reviews, then fixes and reports
    /// ([`RowAction`]'s order), the most confident first within each, then by key. `waiting` are the
    /// moves (tracker, key) apply would leave for later cycles; `in_storm` names the storm of a report.
    pub fn finish(
        mut self,
        waiting: &ItemKeys,
        in_storm: &BTreeMap<(&str, &str), &str>,
    ) -> Result<Findings, RenderError> {
        self.spill.flush_if_filed()?;
        let (names, keys) = (&mut self.names, &self.keys);
        for e in &mut self.entries {
            let (tracker, key) = (names.get(e.tracker.into()), key(keys, e));
            e.waits = e.action == RowAction::Move && waiting.contains(tracker, key);
            let storm = in_storm.get(&(tracker, key)).copied();
            e.storm = storm.map(|id| names.id(id) as u32);
        }
        self.entries.sort_by(|a, b| {
            a.action
                .cmp(&b.action)
                .then(b.confidence.total_cmp(&a.confidence))
                .then_with(|| key(keys, a).cmp(key(keys, b)))
        });
        self.entries.shrink_to_fit();
        self.keys.shrink_to_fit();
        Ok(Findings { entries: self.entries, keys: self.keys, names: self.names, spill: Arc::new(self.spill) })
    }
}

impl Spill {
    /// Once rows went to the file, the rest follow them there (reads then need no lock).
    fn flush_if_filed(&mut self) -> Result<(), RenderError> {
        if self.file.is_some() { self.flush() } else { Ok(()) }
    }
}

/// The findings of a report, in its order.
#[derive(Clone, Default)]
pub struct Findings {
    entries: Vec<Entry>,
    keys: String,
    names: Names,
    spill: Arc<Spill>,
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Findings").field("len", &self.entries.len()).finish_non_exhaustive()
    }
}

impl Findings {
    /// The findings of `rows`, in the report's order (as [`FindingsWriter::finish`] orders them, with
    /// the rows' own `waits` and no storms).
    pub fn from_rows<'r>(rows: impl IntoIterator<Item = &'r FindingRow>) -> Result<Findings, RenderError> {
        let mut w = FindingsWriter::default();
        let mut waiting = ItemKeys::default();
        for row in rows {
            if row.waits {
                waiting.insert(&row.tracker, &row.key);
            }
            w.push(row)?;
        }
        w.finish(&waiting, &BTreeMap::new())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn view<'a>(&'a self, e: &'a Entry) -> FindingRef<'a> {
        FindingRef {
            tracker: self.names.get(e.tracker.into()),
            key: key(&self.keys, e),
            kind: e.kind,
            action: e.action,
            confidence: e.confidence,
            waits: e.waits,
            storm: e.storm.map(|s| self.names.get(s as usize)),
        }
    }

    /// What each finding is, in order, without reading its row.
    pub fn iter(&self) -> impl Iterator<Item = FindingRef<'_>> {
        self.entries.iter().map(|e| self.view(e))
    }

    /// The whole rows, in order, read back one at a time.
    pub fn rows(&self) -> impl Iterator<Item = Result<FindingRow, RenderError>> + '_ {
        self.entries.iter().map(|e| self.row(e))
    }

    /// Every row written to `out` in order, as `render` turns it into bytes. Reading the rows back
    /// and rendering them run on every core, the writing here: a writer of every finding (the CSV:
    /// half a million rows at 1,000,000 items per tracker) no longer does all of it on one thread
    /// once the rest of the audit is done.
    pub fn write_rows(
        &self,
        out: &mut dyn Write,
        render: impl Fn(&FindingRow, &mut Vec<u8>) -> Result<(), RenderError> + Sync,
    ) -> Result<(), RenderError> {
        let rendered = |e: &Entry| {
            let mut bytes = Vec::new();
            Some(self.row(e).and_then(|row| render(&row, &mut bytes)).map(|()| bytes))
        };
        let entries = self.entries.iter().map(Ok::<_, std::convert::Infallible>);
        crate::parallel::map_in_order(entries, crate::parallel::workers(), rendered, |bytes| {
            out.write_all(&bytes?).map_err(RenderError::Write)
        })
    }

    fn row(&self, e: &Entry) -> Result<FindingRow, RenderError> {
        let mut row = self.spill.read(e.at, e.len)?;
        row.waits = e.waits;
        row.storm = e.storm.map(|s| self.names.get(s as usize).to_string());
        Ok(row)
    }
}

impl<'a> IntoIterator for &'a Findings {
    type Item = FindingRef<'a>;
    type IntoIter = Box<dyn Iterator<Item = FindingRef<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// As a JSON array of the rows, each read back as it is written.
impl Serialize for Findings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for row in self.rows() {
            seq.serialize_element(&row.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Reasons;

    fn row(key: &str, action: RowAction, confidence: f64) -> FindingRow {
        FindingRow {
            kind: FindingKind::Misfiled,
            tracker: "jira".into(),
            key: key.into(),
            url: String::new(),
            title: format!("the title of {key}"),
            filed_as: twotrack_api::TrackerRole::Product,
            class: twotrack_api::Class::Work,
            item_kind: twotrack_api::Kind::Request,
            confidence,
            action,
            waits: false,
            storm: None,
            from: "jira (product backlog)".into(),
            to: "servicenow (service queue)".into(),
            queue: None,
            impact: None,
            urgency: None,
            priority: None,
            reasons: Reasons { details: vec!["x".repeat(2000)], ..Reasons::default() },
            target: None,
        }
    }

    #[test]
    fn rows_come_back_whole_in_order_from_memory_and_from_the_file() {
        // 6,000 rows of over 2 KB: past the in-memory spill, so most are read back from the file.
        let rows: Vec<FindingRow> = (0..6000)
            .map(|i| {
                let action = [RowAction::Report, RowAction::Fix, RowAction::Review, RowAction::Move][i % 4];
                row(&format!("SHOP-{i}"), action, (i % 997) as f64 / 1000.0)
            })
            .collect();
        let findings = Findings::from_rows(&rows).unwrap();
        assert!(findings.spill.file.is_some(), "the rows went to the file");
        let back: Vec<FindingRow> = findings.rows().collect::<Result<_, _>>().unwrap();
        assert_eq!(back.len(), rows.len());
        let order: Vec<(RowAction, f64)> = back.iter().map(|r| (r.action, r.confidence)).collect();
        let mut sorted = order.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        assert_eq!(order, sorted, "moves, reviews, fixes, reports; the most confident first");
        assert_eq!(back[0].action, RowAction::Move);
        let original = rows.iter().find(|r| r.key == back[17].key).unwrap();
        assert_eq!((&back[17].title, &back[17].reasons), (&original.title, &original.reasons));
        let keys: Vec<&str> = findings.iter().map(|f| f.key).collect();
        assert_eq!(keys, back.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), "entries and rows agree");
    }

    #[test]
    fn rows_written_on_every_core_come_out_in_order_and_stop_at_the_first_error() {
        // More rows than the workers take at once, most of them read back from the file.
        let rows: Vec<FindingRow> =
            (0..6000).map(|i| row(&format!("SHOP-{i}"), RowAction::Review, (i % 997) as f64 / 1000.0)).collect();
        let findings = Findings::from_rows(&rows).unwrap();
        let line = |r: &FindingRow, out: &mut Vec<u8>| {
            writeln!(out, "{} {} {}", r.key, r.confidence, r.reasons.details[0].len()).map_err(RenderError::Write)
        };
        let mut out = Vec::new();
        findings.write_rows(&mut out, line).unwrap();
        let mut expected = Vec::new();
        for r in findings.rows() {
            line(&r.unwrap(), &mut expected).unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), String::from_utf8(expected).unwrap());

        // A row the renderer refuses ends the writing there, with its error.
        let refuse = |r: &FindingRow, out: &mut Vec<u8>| match r.key.as_str() {
            "SHOP-4321" => Err(RenderError::TooMany("refused")),
            _ => line(r, out),
        };
        let mut out = Vec::new();
        let err = findings.write_rows(&mut out, refuse).unwrap_err();
        assert!(matches!(err, RenderError::TooMany("refused")), "{err:?}");
        let written = String::from_utf8(out).unwrap();
        let before = findings.iter().position(|f| f.key == "SHOP-4321").unwrap();
        assert_eq!(written.lines().count(), before, "every row before it, and none after");

        // A closed output is the writer's error (a broken pipe is nothing to report).
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(findings.write_rows(&mut Closed, line).unwrap_err().is_broken_pipe());
    }

    #[test]
    fn moves_are_marked_waiting_by_tracker_and_key_and_ties_ordered_by_key() {
        let mut w = FindingsWriter::default();
        let mut other = row("SHOP-2", RowAction::Move, 0.9);
        other.tracker = "jira2".into();
        for r in [row("SHOP-10", RowAction::Move, 0.9), row("SHOP-2", RowAction::Move, 0.9), other] {
            w.push(&r).unwrap();
        }
        w.push(&row("SHOP-3", RowAction::Review, 0.9)).unwrap();
        let mut waiting = ItemKeys::default();
        for (tracker, key) in [("jira", "SHOP-2"), ("jira", "SHOP-2"), ("jira", "SHOP-3"), ("jir", "aSHOP-10")] {
            waiting.insert(tracker, key);
        }
        assert_eq!(waiting.len(), 3, "each move once");
        let findings = w.finish(&waiting, &BTreeMap::new()).unwrap();
        let got: Vec<(&str, &str, bool)> = findings.iter().map(|f| (f.tracker, f.key, f.waits)).collect();
        assert_eq!(
            got,
            [
                ("jira", "SHOP-10", false),
                ("jira", "SHOP-2", true),
                ("jira2", "SHOP-2", false),
                ("jira", "SHOP-3", false)
            ]
        );
    }

    #[test]
    fn a_small_report_never_touches_the_disk() {
        let findings = Findings::from_rows(&[row("SHOP-1", RowAction::Review, 0.7)]).unwrap();
        assert!(findings.spill.file.is_none());
        assert_eq!(findings.rows().next().unwrap().unwrap().key, "SHOP-1");
    }
}
