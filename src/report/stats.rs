//! `twotrack mirror stats`: the table for a human and the JSON (a dedicated, versioned shape, not the
//! store's types).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::mirror::{Counts, Stats, SyncRecord};

/// `mirror stats --json`: pretty JSON and a newline.
pub fn json(path: &Path, stats: &Stats) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&StatsJson::new(path, stats))?;
    text.push('\n');
    Ok(text)
}

/// The human table: one row per tracker, then one row per tracker and type.
pub fn table(path: &Path, stats: &Stats) -> String {
    let mut out = format!("mirror {} ({})\n\n", path.display(), human_bytes(stats.size_on_disk));
    if stats.trackers.is_empty() {
        out.push_str("The mirror is empty: run `twotrack sync`.\n");
        return out;
    }
    let mut rows = vec![row(["TRACKER", "ITEMS", "OPEN", "CLOSED", "LAST SYNC"].map(String::from))];
    for (name, tracker) in &stats.trackers {
        let [items, open, closed] = counts(&tracker.total);
        rows.push(row([name.clone(), items, open, closed, last_sync(tracker.last_sync.as_ref())]));
    }
    let [items, open, closed] = counts(&stats.total());
    rows.push(row(["total".into(), items, open, closed, String::new()]));
    out.push_str(&columns(&rows, &[false, true, true, true, false]));
    out.push('\n');

    let mut rows = vec![row(["TRACKER", "TYPE", "ITEMS", "OPEN", "CLOSED"].map(String::from))];
    for (name, tracker) in &stats.trackers {
        for (filed_type, c) in &tracker.by_type {
            let filed_type = if filed_type.is_empty() { "(none)".to_string() } else { filed_type.clone() };
            let [items, open, closed] = counts(c);
            rows.push(row([name.clone(), filed_type, items, open, closed]));
        }
    }
    out.push_str(&columns(&rows, &[false, false, true, true, true]));
    out
}

fn row(cells: [String; 5]) -> Vec<String> {
    cells.into()
}

fn counts(c: &Counts) -> [String; 3] {
    [c.items, c.open, c.closed].map(|n| n.to_string())
}

fn last_sync(record: Option<&SyncRecord>) -> String {
    let Some(r) = record else { return "never".into() };
    let at = r.at.format("%Y-%m-%d %H:%M:%S UTC");
    let counts = format!("pulled {}, {} new, {} changed", r.pulled, r.new, r.changed);
    match (&r.ok, &r.error) {
        (true, _) => format!("{at}  ok: {counts}"),
        (false, Some(error)) => format!("{at}  FAILED: {error} ({counts})"),
        (false, None) => format!("{at}  FAILED ({counts})"),
    }
}

/// Left- or right-aligned columns separated by two spaces; the last column is not padded.
fn columns(rows: &[Vec<String>], right: &[bool]) -> String {
    let columns = right.len();
    let widths: Vec<usize> =
        (0..columns).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = (0..columns)
            .map(|c| match (right[c], c + 1 == columns) {
                (true, _) => format!("{:>w$}", r[c], w = widths[c]),
                (false, false) => format!("{:<w$}", r[c], w = widths[c]),
                (false, true) => r[c].clone(),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// `mirror stats --json`: a dedicated, versioned shape (not the store's types).
#[derive(Debug, Serialize)]
struct StatsJson {
    schema_version: u32,
    path: PathBuf,
    size_on_disk: u64,
    total: CountsJson,
    trackers: Vec<TrackerJson>,
}

#[derive(Debug, Serialize)]
struct CountsJson {
    items: u64,
    open: u64,
    closed: u64,
}

#[derive(Debug, Serialize)]
struct TrackerJson {
    name: String,
    #[serde(flatten)]
    counts: CountsJson,
    by_type: Vec<TypeJson>,
    last_sync: Option<SyncJson>,
}

#[derive(Debug, Serialize)]
struct TypeJson {
    filed_type: String,
    #[serde(flatten)]
    counts: CountsJson,
}

#[derive(Debug, Serialize)]
struct SyncJson {
    at: DateTime<Utc>,
    ok: bool,
    pulled: u64,
    new: u64,
    changed: u64,
    error: Option<String>,
}

impl StatsJson {
    fn new(path: &Path, stats: &Stats) -> StatsJson {
        let trackers = stats
            .trackers
            .iter()
            .map(|(name, t)| TrackerJson {
                name: name.clone(),
                counts: CountsJson::from(&t.total),
                by_type: t
                    .by_type
                    .iter()
                    .map(|(filed_type, c)| TypeJson { filed_type: filed_type.clone(), counts: c.into() })
                    .collect(),
                last_sync: t.last_sync.as_ref().map(|r| SyncJson {
                    at: r.at,
                    ok: r.ok,
                    pulled: r.pulled,
                    new: r.new,
                    changed: r.changed,
                    error: r.error.clone(),
                }),
            })
            .collect();
        StatsJson {
            schema_version: 1,
            path: path.to_path_buf(),
            size_on_disk: stats.size_on_disk,
            total: (&stats.total()).into(),
            trackers,
        }
    }
}

impl From<&Counts> for CountsJson {
    fn from(c: &Counts) -> CountsJson {
        CountsJson { items: c.items, open: c.open, closed: c.closed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::TrackerStats;

    #[test]
    fn the_table_aligns_columns_and_shows_sync_outcomes() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let jira = TrackerStats {
            total: Counts { items: 12, open: 10, closed: 2 },
            by_type: [("Story".to_string(), Counts { items: 12, open: 10, closed: 2 })].into(),
            last_sync: Some(SyncRecord { at, pulled: 12, new: 12, changed: 0, ok: true, error: None }),
        };
        let snow = TrackerStats {
            last_sync: Some(SyncRecord {
                at,
                pulled: 0,
                new: 0,
                changed: 0,
                ok: false,
                error: Some("401 from snow".into()),
            }),
            ..TrackerStats::default()
        };
        let stats =
            Stats { trackers: [("jira".to_string(), jira), ("snow".to_string(), snow)].into(), size_on_disk: 0 };
        let text = table(Path::new("/m"), &stats);
        let expected = "\
mirror /m (0 B)

TRACKER  ITEMS  OPEN  CLOSED  LAST SYNC
jira        12    10       2  2023-11-14 22:13:20 UTC  ok: pulled 12, 12 new, 0 changed
snow         0     0       0  2023-11-14 22:13:20 UTC  FAILED: 401 from snow (pulled 0, 0 new, 0 changed)
total       12    10       2

TRACKER  TYPE   ITEMS  OPEN  CLOSED
jira     Story     12    10       2
";
        assert_eq!(text, expected);
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
    }
}
