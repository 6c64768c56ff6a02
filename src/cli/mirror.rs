//! `twotrack mirror stats`, `mirror export` and `mirror verify`: look into the local mirror without a
//! tracker.

use super::output::errln;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::exit::Exit;
use crate::mirror::{Counts, Mirror, Stats, SyncRecord};

#[derive(Debug, clap::Subcommand)]
pub enum MirrorCmd {
    /// Items per tracker, type and state; last sync.
    Stats(StatsArgs),
    /// Write the mirrored items as JSON Lines (one item per line), to stdout or a file.
    Export(ExportArgs),
    /// Read every stored item and revision back and check them against the mirror's own counts
    /// (exit 1, with what to do, when it is damaged).
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub location: MirrorLocation,
}

/// Which mirror to read.
#[derive(Debug, clap::Args)]
pub struct MirrorLocation {
    /// The mirror directory [default: mirror.path from the configuration file].
    #[arg(long, value_name = "PATH")]
    pub mirror: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub location: MirrorLocation,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub location: MirrorLocation,
    /// Write to this file instead of stdout (replaced only once the export is complete).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Only the items of this tracker.
    #[arg(long, value_name = "NAME")]
    pub tracker: Option<String>,
}

pub async fn run(cmd: MirrorCmd, g: &super::Global) -> anyhow::Result<Exit> {
    match cmd {
        MirrorCmd::Stats(args) => stats(args, g),
        MirrorCmd::Export(args) => export(args, g),
        MirrorCmd::Verify(args) => verify(args, g),
    }
}

fn verify(args: VerifyArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let mirror = open(&args.location, g)?;
    let v = mirror.verify()?;
    let mut out = super::output::stdout();
    writeln!(
        out,
        "the mirror at {} reads back whole: {} items ({} counted, {} at the last flush), {} earlier revisions",
        mirror.path().display(),
        v.items,
        v.counted,
        v.flushed.map_or_else(|| "none recorded".to_string(), |n| n.to_string()),
        v.revisions
    )
    .context(super::output::CONTEXT)?;
    Ok(Exit::Ok)
}

/// Open an existing mirror: `--mirror`, else the configured path. A missing mirror is an error (opening
/// would create an empty one).
fn open(location: &MirrorLocation, g: &super::Global) -> anyhow::Result<Mirror> {
    let path = match &location.mirror {
        Some(path) => path.clone(),
        None => g.load_config_offline()?.mirror.path,
    };
    Ok(Mirror::open_existing(&path)?)
}

fn stats(args: StatsArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let mirror = open(&args.location, g)?;
    let stats = mirror.stats()?;
    let mut out = super::output::stdout();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &StatsJson::new(mirror.path(), &stats))?;
        writeln!(out)?;
    } else {
        out.write_all(render_table(mirror.path(), &stats).as_bytes())?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

fn export(args: ExportArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let mirror = open(&args.location, g)?;
    let tracker = args.tracker.as_deref();
    let count = match &args.out {
        None => mirror.export_jsonl(super::output::stdout(), tracker)?,
        Some(path) => export_to_file(&mirror, path, tracker)?,
    };
    if g.quiet == 0 {
        let to = args.out.as_ref().map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        errln!("exported {count} items to {to}");
        if count == 0
            && let Some(tracker) = tracker
        {
            errln!("note: the mirror holds no items of tracker {tracker:?}");
        }
    }
    Ok(Exit::Ok)
}

/// Export to `PATH.partial`, then rename, so that `path` never holds half an export.
fn export_to_file(mirror: &Mirror, path: &Path, tracker: Option<&str>) -> anyhow::Result<u64> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let count = mirror.export_jsonl(&file, tracker)?;
    file.sync_all().with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))?;
    Ok(count)
}

/// The human table: one row per tracker, then one row per tracker and type.
fn render_table(path: &Path, stats: &Stats) -> String {
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
    out.push_str(&table(&rows, &[false, true, true, true, false]));
    out.push('\n');

    let mut rows = vec![row(["TRACKER", "TYPE", "ITEMS", "OPEN", "CLOSED"].map(String::from))];
    for (name, tracker) in &stats.trackers {
        for (filed_type, c) in &tracker.by_type {
            let filed_type = if filed_type.is_empty() { "(none)".to_string() } else { filed_type.clone() };
            let [items, open, closed] = counts(c);
            rows.push(row([name.clone(), filed_type, items, open, closed]));
        }
    }
    out.push_str(&table(&rows, &[false, false, true, true, true]));
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
fn table(rows: &[Vec<String>], right: &[bool]) -> String {
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
        let text = render_table(Path::new("/m"), &stats);
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
