//! `twotrack mirror stats`, `mirror export` and `mirror verify`: look into the local mirror without a
//! tracker.

use super::output::errln;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::remote::Reader;
use crate::exit::Exit;
use crate::mirror::{Mirror, PreviousClose};
use crate::report;

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
        MirrorCmd::Stats(args) => stats(args, g).await,
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
    let closed = match mirror.previous_close() {
        PreviousClose::Clean => "the process that used it last closed it cleanly".to_string(),
        PreviousClose::Unclean(marker) => format!(
            "the process that used it last did not close it ({marker}: killed or crashed); what it had flushed is \
             all here"
        ),
    };
    writeln!(out, "{closed}").context(super::output::CONTEXT)?;
    Ok(Exit::Ok)
}

/// Open an existing mirror: `--mirror`, else the configured path. A missing mirror is an error (opening
/// would create an empty one); one a running daemon holds names the daemon.
fn open(location: &MirrorLocation, g: &super::Global) -> anyhow::Result<Mirror> {
    let path = location.path(g)?;
    Mirror::open_existing(&path).map_err(|e| super::remote::locked(e, &path))
}

impl MirrorLocation {
    /// `--mirror`, else the configured path.
    fn path(&self, g: &super::Global) -> anyhow::Result<PathBuf> {
        match &self.mirror {
            Some(path) => Ok(path.clone()),
            None => Ok(g.load_config_offline()?.mirror.path),
        }
    }
}

/// `mirror stats`: from the mirror, or from the running daemon that holds it.
async fn stats(args: StatsArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let path = args.location.path(g)?;
    // The token, if the configuration sets one (a configuration is optional with --mirror).
    let config = match &args.location.mirror {
        Some(_) if g.config.is_none() && !g.config_path().exists() => None,
        _ => Some(g.load_config_offline()?),
    };
    let token = config.as_ref().and_then(|c| c.daemon.token.as_ref());
    let text = match super::remote::open(&path, token, g.quiet > 0)? {
        Reader::Local(mirror) => {
            let stats = mirror.stats()?;
            if args.json {
                report::stats::json(mirror.path(), &stats)?
            } else {
                report::stats::table(mirror.path(), &stats)
            }
        }
        Reader::Daemon(daemon) => {
            let json = if args.json { "true" } else { "false" };
            daemon.get(&["v1", "stats"], &[("json", json)]).await?.body
        }
    };
    super::output::print(&text)?;
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

/// Export to `PATH.partial`, then rename, so that a file at `path` never holds half an export. A path
/// that names no regular file (`/dev/null`, a named pipe) is written straight through: a rename would
/// put a plain file in the device's place. A symbolic link is followed: the file it names is replaced,
/// the link stays.
fn export_to_file(mirror: &Mirror, path: &Path, tracker: Option<&str>) -> anyhow::Result<u64> {
    let target = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            let out = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("cannot write to {}", path.display()))?;
            return Ok(mirror.export_jsonl(out, tracker)?);
        }
        Ok(_) => std::fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))?,
        Err(_) => path.to_path_buf(),
    };
    let mut partial = target.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let count = mirror.export_jsonl(&file, tracker)?;
    file.sync_all().with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &target)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), target.display()))?;
    Ok(count)
}
