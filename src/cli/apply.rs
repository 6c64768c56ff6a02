//! `twotrack apply [--yes] [--limit N] [--tracker NAME] [--only KEY...]` and `twotrack history KEY`

use super::output::{errln, outln};
use anyhow::Context;

use crate::exit::{Exit, coded, usage};
use crate::mirror::Mirror;
use crate::outbox::control::StateName;
use crate::outbox::{
    Ctx, Outbox, Planned2, Selection, State, already_handled, apply, bound_moves, describe, plan_with,
};
use crate::plan::storm::Attach;
use crate::registry::Registry;
use crate::sync::{SyncOptions, sync_all};
use crate::writer::{Writer, WriterError};
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// Carry out the corrections (without it, only print the plan).
    #[arg(long)]
    pub yes: bool,
    /// At most this many corrections (the most confident first).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only items filed in this tracker.
    #[arg(long, value_name = "NAME")]
    pub tracker: Option<String>,
    /// Only these item keys.
    #[arg(long, value_name = "KEY", num_args = 1..)]
    pub only: Vec<String>,
    /// Sync the trackers first.
    #[arg(long)]
    pub sync: bool,
    /// Take the writer lease even from another instance's fresh heartbeat (a failover: that instance is
    /// known to be gone). Without it, apply refuses to write while another instance holds the lease (exit 5).
    #[arg(long)]
    pub take_over: bool,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The item key (the original or its twin).
    pub key: String,
}

pub async fn run_apply(args: ApplyArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = g.load_config()?;
    if let Some(t) = &args.tracker
        && config.tracker(t).is_none()
    {
        return Err(usage(anyhow::anyhow!("no tracker named {t:?} in {}", config.source.display())));
    }
    let registry = Registry::build(&config).context("could not set up the connectors")?;
    let mirror = if args.sync { Mirror::open(&config.mirror.path) } else { Mirror::open_existing(&config.mirror.path) };
    let mirror = mirror.map_err(|e| super::remote::locked(e, &config.mirror.path))?;
    if args.sync {
        let results =
            sync_all(&registry, &mirror, &SyncOptions { progress: g.progress(), ..SyncOptions::default() }).await;
        if let Some(f) = results.iter().find(|r| r.error.is_some()) {
            anyhow::bail!("sync of {} failed: {}", f.tracker, f.error.as_deref().unwrap_or(""));
        }
    }
    super::audit::require_synced(&config, &mirror, args.tracker.as_deref())?;
    let classifier = crate::audit::classifier(&config)?;
    let sel = Selection { tracker: args.tracker.clone(), only: args.only.clone(), limit: args.limit };
    let progress = super::progress::Bars::when(g.progress());
    let site = crate::audit::learn_site_with(&config, &mirror, &classifier, progress.as_ref())?;
    let mut plan = plan_with(&config, &mirror, &classifier, &site, &sel, progress.as_ref())?;
    let outbox = Outbox::open(&mirror)?;
    // Bound the cycle as a run with --yes would; a dry run only says what would happen.
    let writes = args.yes && !config.policy.dry_run;
    let refusal = match bound_moves(&config, &mut plan, &outbox) {
        Ok(()) => None,
        Err(e) if e.is_refusal() && !writes => Some(e),
        Err(e) if e.is_refusal() => return Err(coded(Exit::Refused, e)),
        Err(e) => return Err(e.into()),
    };
    let pending_earlier = outbox.all().filter_map(|c| c.ok()).filter(|c| c.state == State::Pending).count();
    let parked = outbox.parked()?;

    outln!(
        "{} correction(s) planned{}{}:",
        plan.corrections.len(),
        if pending_earlier > 0 { format!(", {pending_earlier} pending from an earlier run") } else { String::new() },
        if parked > 0 { format!(", {parked} parked (not attempted)") } else { String::new() }
    );
    for c in &plan.corrections {
        let stored = outbox.get(&c.id)?;
        let mark = match stored.as_ref().map(|s| s.state.name()) {
            Some(StateName::Parked) => " (parked: not attempted until `twotrack outbox retry`)",
            Some(StateName::Cancelled) => " (cancelled)",
            _ if already_handled(c, stored.as_ref()) => " (already handled)",
            _ => "",
        };
        outln!("  {}:{}  {}{mark}", c.source_tracker, c.source_key, describe(&c.action));
        match &c.action {
            Planned2::Move { new_item, .. } => outln!("      \"{}\"", new_item.summary),
            Planned2::Storm { parent, members, service_tracker, .. } => {
                match stored.as_ref().and_then(|s| s.progress.twin.as_ref()) {
                    Some(p) => outln!("      under {service_tracker}:{} (created earlier: {})", p.key, p.url),
                    None => outln!("      \"{}\" (new)", parent.summary),
                }
                let held = stored.as_ref().map(|s| &s.progress.members);
                for m in members {
                    let done = held.and_then(|h| h.get(&m.id())).is_some_and(|p| p.done);
                    outln!("      {}:{}  {}{}", m.tracker, m.key, attach(m.attach), if done { " (done)" } else { "" });
                }
            }
            _ => {}
        }
    }
    if !plan.after_move.is_empty() {
        outln!(
            "{} earlier move(s) a human acted on since (never moved again; the sides are named for a human to finish):",
            plan.after_move.len()
        );
        for m in &plan.after_move {
            outln!("  {}", m.describe());
        }
    }
    if plan.waiting > 0 {
        outln!(
            "{} more move(s) wait for the next cycle: at most policy.max_moves = {} per cycle, the most confident first",
            plan.waiting,
            config.policy.max_moves
        );
    }
    if let Some(refusal) = &refusal {
        outln!("\nWith writes allowed this cycle would be refused: {refusal}");
    }

    if config.policy.dry_run {
        outln!(
            "\nDry run: policy.dry_run = true in {}; nothing was written. Set it to false to allow writes.",
            config.source.display()
        );
        return Ok(Exit::Ok);
    }
    if !args.yes {
        outln!("\nNothing was written. Run again with --yes to carry out these corrections.");
        return Ok(Exit::Ok);
    }
    // One writer per tracker pair: claim before the first write, renew while writing, release after.
    let writer = Arc::new(Writer::new(&config, &mirror)?);
    writer.claim(&registry, args.take_over).await.map_err(refused_if_held)?;
    writer.start_heartbeat(registry.clone());
    let ctx = Ctx { config: &config, registry: &registry, outbox, classifier, site };
    let applied = tokio::select! {
        report = apply(&ctx, &plan) => report.map_err(anyhow::Error::from),
        lost = writer.lost() => Err(coded(Exit::Held, anyhow::anyhow!("stopped writing: {lost}"))),
    };
    writer.release(&registry).await;
    let report = applied?;
    mirror.flush()?;
    outln!(
        "\n{} done, {} dropped (re-evaluated or exempt), {} failed, {} parked",
        report.done,
        report.dropped,
        report.failed,
        report.parked
    );
    for f in &report.failures {
        errln!("  failed: {f}");
    }
    if report.parked > 0 {
        outln!(
            "{} correction(s) parked after failing policy.max_attempts = {} runs in a row: they are not attempted \
             again until retried. `twotrack outbox list --state parked` shows them with their errors.",
            report.parked,
            config.policy.max_attempts
        );
    }
    if report.failed > 0 {
        let resume = report.failed - report.parked_now;
        let mut message = format!("{} correction(s) failed", report.failed);
        if resume > 0 {
            message += &format!("; {resume} stay in the outbox and resume on the next run");
        }
        if report.parked_now > 0 {
            message += &format!("; {} parked by this run wait for `twotrack outbox retry`", report.parked_now);
        }
        anyhow::bail!(message);
    }
    Ok(Exit::Ok)
}

/// What a storm's correction does with one of its reports.
fn attach(a: Attach) -> &'static str {
    match a {
        Attach::Child => "becomes a child of the parent, stays in its queue",
        Attach::Linked => "linked to the parent, stays in its queue",
        Attach::Gathered => "linked to the parent, its reporter told where it went, closed",
    }
}

/// Another instance's fresh heartbeat ends the command with its own exit code.
fn refused_if_held(e: WriterError) -> anyhow::Error {
    if e.is_held() { coded(Exit::Held, e) } else { e.into() }
}

pub async fn run_history(args: HistoryArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = g.load_config_offline()?;
    let text = match super::remote::open(&config.mirror.path, config.daemon.token.as_ref(), g.quiet > 0)? {
        super::remote::Reader::Local(mirror) => {
            let entries = Outbox::open(&mirror)?.history(&args.key)?;
            crate::report::history::render(&args.key, &entries)
        }
        super::remote::Reader::Daemon(daemon) => daemon.get(&["v1", "history", &args.key], &[]).await?.body,
    };
    super::output::print(&text)?;
    Ok(Exit::Ok)
}
