//! `twotrack sync [--tracker NAME] [--full]`

use super::output::outln;
use anyhow::Context;

use crate::exit::Exit;
use crate::mirror::Mirror;
use crate::registry::Registry;
use crate::sync::{SyncOptions, TrackerSync, sync_all};

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Only sync this tracker (a configured tracker name).
    #[arg(long, value_name = "NAME")]
    pub tracker: Option<String>,
    /// Ignore the stored cursors and pull everything again.
    #[arg(long)]
    pub full: bool,
}

pub async fn run(args: SyncArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = g.load_config()?;
    if let Some(t) = &args.tracker
        && config.tracker(t).is_none()
    {
        let names: Vec<&str> = config.trackers.iter().map(|t| t.name.as_str()).collect();
        return Err(crate::exit::usage(anyhow::anyhow!(
            "no tracker named {t:?} in {}; configured trackers: {}",
            config.source.display(),
            names.join(", ")
        )));
    }
    let registry = Registry::build(&config).context("could not set up the connectors")?;
    let path = &config.mirror.path;
    let mirror = Mirror::open(path).map_err(|e| super::remote::locked(e, path))?;
    let opts = SyncOptions { tracker: args.tracker, full: args.full, progress: g.progress() };
    let results = sync_all(&registry, &mirror, &opts).await;
    mirror.flush()?;
    print_summary(&results)?;
    let failed: Vec<&TrackerSync> = results.iter().filter(|r| r.error.is_some()).collect();
    if failed.is_empty() {
        Ok(Exit::Ok)
    } else {
        let names: Vec<&str> = failed.iter().map(|r| r.tracker.as_str()).collect();
        anyhow::bail!("sync failed for {}; the mirror keeps everything pulled before the failure", names.join(", "))
    }
}

/// One line per tracker.
pub fn print_summary(results: &[TrackerSync]) -> anyhow::Result<()> {
    for r in results {
        match &r.error {
            None => outln!(
                "{:<14} pulled {:>7}  new {:>7}  changed {:>7}  in {:.1}s",
                r.tracker,
                r.pulled,
                r.new,
                r.changed,
                r.duration.as_secs_f64()
            ),
            Some(e) => outln!("{:<14} FAILED after {} pulled: {e}", r.tracker, r.pulled),
        }
    }
    Ok(())
}
