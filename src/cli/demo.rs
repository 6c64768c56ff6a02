//! `twotrack demo [--items N] [--seed N] [--out DIR] [--apply]`: the whole job against the simulators.

use super::output::outln;
use std::path::PathBuf;

use anyhow::Context;

use crate::demo::{World, WorldOptions};
use crate::exit::Exit;
use crate::mirror::Mirror;
use crate::registry::Registry;
use crate::report::{Format, Report};
use crate::sync::{SyncOptions, sync_all};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Items filed in each simulated tracker.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub items: usize,
    /// Seed of the generated backlog (same seed, same backlog).
    #[arg(long, default_value_t = 42, value_name = "N")]
    pub seed: u64,
    /// Where the configuration, the mirror and the reports go (replaced on every run).
    #[arg(long, default_value = "twotrack-demo", value_name = "DIR")]
    pub out: PathBuf,
    /// Also carry out the moves, then sync and report the state after.
    #[arg(long)]
    pub apply: bool,
    /// Which Jira to simulate: `cloud` or `datacenter`.
    #[arg(long, default_value = "cloud", value_name = "FLAVOUR", value_parser = super::sim::jira_flavour)]
    pub jira_flavour: crate::demo::JiraFlavour,
}

pub async fn run(args: DemoArgs, g: &super::Global) -> anyhow::Result<Exit> {
    if args.items == 0 {
        return Err(crate::exit::usage(anyhow::anyhow!("--items must be at least 1")));
    }
    let world = World::start(&WorldOptions {
        seed: args.seed,
        items: args.items,
        storm: true,
        jira_flavour: args.jira_flavour,
        ..WorldOptions::default()
    })
    .await
    .context("could not start the simulators on 127.0.0.1")?;
    let (jira_n, sn_n) = world.counts();
    outln!("Simulated {:<19} {}  ({jira_n} issues in SHOP)", world.jira_label(), world.jira.base_url());
    outln!("Simulated {:<19} {}  ({sn_n} records)", "ServiceNow", world.servicenow.base_url());

    let out = &args.out;
    let mirror_dir = out.join("mirror");
    if mirror_dir.exists() {
        std::fs::remove_dir_all(&mirror_dir)
            .with_context(|| format!("could not clear the previous demo mirror {}", mirror_dir.display()))?;
    }
    let config_path = world
        .write_config(out, !args.apply, 2 * args.items)
        .with_context(|| format!("could not write the demo configuration in {}", out.display()))?;
    let config =
        crate::config::load(&config_path).map_err(|e| anyhow::anyhow!("the demo configuration is invalid: {e}"))?;
    let registry = Registry::build(&config)?;
    let mirror = Mirror::open(&config.mirror.path)?;

    let results = sync_all(&registry, &mirror, &SyncOptions { progress: g.progress(), ..SyncOptions::default() }).await;
    crate::cli::sync::print_summary(&results)?;
    if let Some(f) = results.iter().find(|r| r.error.is_some()) {
        anyhow::bail!("sync of {} failed: {}", f.tracker, f.error.as_deref().unwrap_or(""));
    }
    let report = crate::audit::audit(&config, &mirror, None)?;
    let html = write_reports(&report, out, "report")?;
    print_summary("Audit", &report)?;

    if args.apply {
        let applied = crate::outbox::cycle(&config, &registry, &mirror).await?;
        outln!(
            "\nApplied: {} planned, {} moved or fixed, {} dropped, {} failed",
            applied.planned,
            applied.done,
            applied.dropped,
            applied.failed
        );
        let results = sync_all(&registry, &mirror, &SyncOptions::default()).await;
        if let Some(f) = results.iter().find(|r| r.error.is_some()) {
            anyhow::bail!("sync after apply failed for {}: {}", f.tracker, f.error.as_deref().unwrap_or(""));
        }
        let followed = crate::outbox::follow_back(&config, &registry, &mirror).await?;
        let after = crate::audit::audit(&config, &mirror, None)?;
        let after_html = write_reports(&after, out, "report-after")?;
        print_summary("After apply", &after)?;
        if followed > 0 {
            outln!("Follow-back comments: {followed}");
        }
        outln!("\nReport after apply: {}", after_html.display());
    }
    mirror.flush()?;
    outln!("\nReport: {}", html.display());
    outln!(
        "Configuration for these simulators: {} (they stop when the demo ends; `twotrack sim` keeps them running)",
        config_path.display()
    );
    world.shutdown().await;
    Ok(Exit::Ok)
}

fn write_reports(report: &Report, dir: &std::path::Path, stem: &str) -> anyhow::Result<PathBuf> {
    for format in [Format::Html, Format::Md, Format::Json] {
        let path = dir.join(format!("{stem}.{}", format.extension()));
        std::fs::write(&path, report.render(format)?).with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(dir.join(format!("{stem}.html")))
}

fn print_summary(title: &str, r: &Report) -> anyhow::Result<()> {
    let t = &r.totals;
    outln!("\n{title}: {} open items ({} Value, {} Work)", t.open_items, t.value, t.work);
    for tr in &r.trackers {
        outln!(
            "  {:<12} {:<8} {:>6} open  {:>5} value  {:>5} work  {:>5} misfiled ({:.0}%)",
            tr.name,
            tr.role,
            tr.open_items,
            tr.value,
            tr.work,
            tr.misfiled,
            tr.misfiled_share * 100.0
        );
    }
    outln!(
        "  misfiled: {} Work in a product backlog, {} Value in a service queue -> {} to move, {} to review",
        t.work_in_product,
        t.value_in_service,
        t.moves,
        t.reviews
    );
    outln!(
        "  misrouted: {}, misprioritised: {}, exempt (keep marker or twin): {}",
        t.misrouted,
        t.misprioritised,
        t.exempt
    );
    Ok(())
}
