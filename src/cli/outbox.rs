//! `twotrack outbox list [--state S] [--format text|json]`, `outbox retry ID|--all-parked` and
//! `outbox cancel ID [--reason TEXT]`: look into the outbox, un-park or give up a correction.
//!
//! While the daemon holds the mirror, `list` asks it (see [`super::remote`]); `retry` and `cancel` change the
//! outbox and need the daemon stopped.
//!
//! Exit codes: 0 done (or nothing to do, said why), 1 the mirror failed or is held by another process (a
//! running daemon), 2 no correction with that id, 4 the correction's state does not allow it (a cancel that
//! would leave half a move, a retry of a done correction).

use super::output::outln;

use anyhow::Context;
use chrono::Utc;

use super::remote::Reader;
use crate::config::Config;
use crate::exit::{Exit, coded, usage};
use crate::mirror::Mirror;
use crate::outbox::Outbox;
use crate::outbox::control::{ControlError, Outcome, StateName};
use crate::report::outbox::{ListFormat, OutboxList};

#[derive(Debug, clap::Subcommand)]
pub enum OutboxCmd {
    /// The corrections in the outbox: id, action, source and target, state, attempts, last error, age.
    List(ListArgs),
    /// Make a parked (or cancelled) correction pending again, with a fresh count of attempts: the next
    /// `apply --yes` (or the daemon's apply job) carries it out.
    Retry(RetryArgs),
    /// Give up a pending or parked correction that has written nothing yet (a move is refused once its
    /// twin may exist: cancelling then would leave half a move).
    Cancel(CancelArgs),
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only corrections in these states (repeat the flag, or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "STATE")]
    pub state: Vec<StateName>,
    /// Output format (json for scripts).
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
}

#[derive(Debug, clap::Args)]
pub struct RetryArgs {
    /// The correction's id, as `outbox list` shows it (e.g. move:jira:SHOP-12).
    #[arg(required_unless_present = "all_parked", conflicts_with = "all_parked")]
    pub id: Option<String>,
    /// Retry every parked correction.
    #[arg(long)]
    pub all_parked: bool,
}

#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The correction's id, as `outbox list` shows it (e.g. move:jira:SHOP-12).
    pub id: String,
    /// Why, for the audit log.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

pub async fn run(cmd: OutboxCmd, g: &super::Global) -> anyhow::Result<Exit> {
    let config = g.load_config_offline()?;
    match cmd {
        OutboxCmd::List(args) => list(&config, &args, g).await,
        OutboxCmd::Retry(args) => retry(&open(&config)?, &args),
        OutboxCmd::Cancel(args) => cancel(&config, &open(&config)?, &args),
    }
}

/// Open the outbox to change it: the mirror to this process alone (a running daemon holds it).
fn open(config: &Config) -> anyhow::Result<Outbox> {
    let path = &config.mirror.path;
    let mirror = Mirror::open_existing(path).map_err(|e| super::remote::locked(e, path))?;
    Ok(Outbox::open(&mirror)?)
}

/// `outbox list`: from the mirror, or from the running daemon that holds it.
async fn list(config: &Config, args: &ListArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let text = match super::remote::open(&config.mirror.path, config.daemon.token.as_ref(), g.quiet > 0)? {
        Reader::Local(mirror) => {
            let corrections = Outbox::open(&mirror)?.all().collect::<Result<Vec<_>, _>>()?;
            let list = OutboxList::new(&corrections, &args.state, config.policy.max_attempts, Utc::now());
            list.render(args.format).context("could not render the outbox")?
        }
        Reader::Daemon(daemon) => {
            let states = args.state.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
            let format = match args.format {
                ListFormat::Text => "text",
                ListFormat::Json => "json",
            };
            daemon.get(&["v1", "outbox"], &[("format", format), ("state", &states)]).await?.body
        }
    };
    super::output::print(&text)?;
    Ok(Exit::Ok)
}

fn retry(outbox: &Outbox, args: &RetryArgs) -> anyhow::Result<Exit> {
    let ids: Vec<String> = match &args.id {
        Some(id) => vec![id.clone()],
        None => {
            let mut parked = Vec::new();
            for c in outbox.all() {
                let c = c?;
                if c.state.name() == StateName::Parked {
                    parked.push(c.id);
                }
            }
            if parked.is_empty() {
                outln!("No parked corrections: nothing to retry.");
                return Ok(Exit::Ok);
            }
            parked
        }
    };
    for id in &ids {
        match outbox.retry(id).map_err(control_error)? {
            Outcome::Changed { from, to } => outln!("{id}: {} -> {}", from.as_str(), to.as_str()),
            Outcome::Unchanged(why) => outln!("{id}: unchanged, {why}"),
        }
    }
    outln!("The next `twotrack apply --yes` (or the daemon's apply job) carries out what is pending.");
    Ok(Exit::Ok)
}

fn cancel(config: &Config, outbox: &Outbox, args: &CancelArgs) -> anyhow::Result<Exit> {
    let id = &args.id;
    match outbox.cancel(id, args.reason.as_deref(), &config.policy.keep_label).map_err(control_error)? {
        Outcome::Changed { from, to } => {
            outln!("{id}: {} -> {}", from.as_str(), to.as_str());
            outln!(
                "It is not carried out, nor planned again (the audit still reports the item); `twotrack outbox retry \
                 {id}` re-arms it. To keep an item where it is for good, label it {:?}.",
                config.policy.keep_label
            );
        }
        Outcome::Unchanged(why) => outln!("{id}: unchanged, {why}"),
    }
    Ok(Exit::Ok)
}

/// An unknown id is a usage error (exit 2); a state that does not allow it, a refusal (exit 4).
fn control_error(e: ControlError) -> anyhow::Error {
    match e {
        ControlError::Unknown { .. } => usage(e),
        ControlError::Refused { .. } => coded(Exit::Refused, e),
        ControlError::Mirror(e) => e.into(),
    }
}
