//! `twotrack audit [--sync] [--format html|md|json|csv] [--out PATH] [--tracker NAME] [--fail-on ...]`

use super::output::errln;
use std::path::PathBuf;

use anyhow::Context;

use crate::exit::Exit;
use crate::mirror::Mirror;
use crate::registry::Registry;
use crate::report::Format;
use crate::sync::{SyncOptions, sync_all};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 3 when any item is misfiled (to move or to review).
    Misfiled,
    /// Exit 3 when any finding needs a human review.
    Review,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Sync the trackers first.
    #[arg(long)]
    pub sync: bool,
    /// Report format [default: md on stdout, or from the --out extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Only audit this tracker.
    #[arg(long, value_name = "NAME")]
    pub tracker: Option<String>,
    /// Exit with code 3 when findings of this kind exist (for CI).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
}

pub async fn run(args: AuditArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = if args.sync { g.load_config()? } else { g.load_config_offline()? };
    if let Some(t) = &args.tracker
        && config.tracker(t).is_none()
    {
        return Err(crate::exit::usage(anyhow::anyhow!("no tracker named {t:?} in {}", config.source.display())));
    }
    let mirror =
        if args.sync { Mirror::open(&config.mirror.path)? } else { Mirror::open_existing(&config.mirror.path)? };
    if args.sync {
        let registry = Registry::build(&config).context("could not set up the connectors")?;
        let opts = SyncOptions { tracker: args.tracker.clone(), full: false, progress: g.progress() };
        let results = sync_all(&registry, &mirror, &opts).await;
        if let Some(failed) = results.iter().find(|r| r.error.is_some()) {
            anyhow::bail!(
                "sync of {} failed ({}); not auditing a partial picture",
                failed.tracker,
                failed.error.as_deref().unwrap_or("")
            );
        }
    }
    require_synced(&config, &mirror, args.tracker.as_deref())?;
    let report = crate::audit::audit(&config, &mirror, args.tracker.as_deref())?;
    let format = args
        .format
        .or_else(|| {
            let ext = args.out.as_ref()?.extension()?.to_str()?.to_ascii_lowercase();
            [Format::Html, Format::Md, Format::Json, Format::Csv].into_iter().find(|f| f.extension() == ext)
        })
        .unwrap_or(Format::Md);
    let text = report.render(format)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("could not write the report to {}", path.display()))?;
            errln!(
                "{} open items, {} misfiled ({} to move, {} to review); report: {}",
                report.totals.open_items,
                report.misfiled(),
                report.totals.moves,
                report.totals.reviews,
                path.display()
            );
        }
        None => super::output::print(&text)?,
    }
    let fail = match args.fail_on {
        Some(FailOn::Misfiled) => report.misfiled() > 0,
        Some(FailOn::Review) => report.findings.iter().any(|f| f.action == "review"),
        None => false,
    };
    Ok(if fail { Exit::Findings } else { Exit::Ok })
}

/// Refuse to judge a tracker the mirror never pulled: its empty picture would read as a clean backlog
/// (and pass `--fail-on` in CI). A tracker whose last sync failed still has what it pulled before.
pub(super) fn require_synced(
    config: &crate::config::Config,
    mirror: &Mirror,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let mut never = Vec::new();
    for tracker in config.trackers.iter().filter(|t| only.is_none_or(|o| o == t.name)) {
        if mirror.last_sync(&tracker.name)?.is_none() && mirror.count(Some(&tracker.name))? == 0 {
            never.push(tracker.name.as_str());
        }
    }
    if never.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the mirror at {} holds nothing of {} (never synced): an audit would read as a clean backlog; run \
         `twotrack sync` first (or add --sync)",
        mirror.path().display(),
        never.join(", ")
    )
}
