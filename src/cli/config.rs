//! `twotrack config init | check | show | schema`.

use super::output::{errln, outln};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::{self, Config};
use crate::exit::{self, Exit};

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Write a fully commented example configuration to start from.
    Init(InitArgs),
    /// Validate the configuration: exit 0 when valid, 2 with every problem when not.
    Check(CheckArgs),
    /// Print the resolved configuration: defaults filled in, secrets redacted.
    Show,
    /// Print the JSON Schema of the configuration file (for taplo, VS Code and other editors).
    Schema,
    /// Print the `[[queue]]` entries in effect; with --online, propose entries from each ServiceNow
    /// instance's assignment groups, to edit and paste.
    Queues(QueuesArgs),
}

#[derive(Debug, Args)]
pub struct QueuesArgs {
    /// Read each ServiceNow instance's active assignment groups and propose a `[[queue]]` entry for each.
    #[arg(long)]
    pub online: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it [default: --config, else ./twotrack.toml]
    pub path: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also connect to every tracker and check its credentials (every secret must then be readable).
    #[arg(long)]
    pub online: bool,
}

pub async fn run(cmd: ConfigCmd, g: &super::Global) -> anyhow::Result<Exit> {
    match cmd {
        ConfigCmd::Init(args) => init(&args.path.unwrap_or_else(|| g.config_path()), args.force),
        ConfigCmd::Check(CheckArgs { online: false }) => check(&load_deferred(g)?, g),
        ConfigCmd::Check(CheckArgs { online: true }) => {
            let config = config::load(&g.config_path()).map_err(crate::exit::usage)?;
            check(&config, g)?;
            let outcome = super::online::check_online(&config).await?;
            if !outcome.reachable {
                anyhow::bail!("some trackers could not be reached or refused the credentials (see above)")
            }
            if outcome.missing > 0 {
                let n = outcome.missing;
                return Err(exit::usage(anyhow::anyhow!(
                    "{n} configured value{} not found on the trackers (see MISSING above): fix the configuration \
                     to match what the trackers have",
                    if n == 1 { "" } else { "s" }
                )));
            }
            Ok(Exit::Ok)
        }
        ConfigCmd::Show => print(&load_deferred(g)?.to_redacted_toml()),
        ConfigCmd::Queues(QueuesArgs { online: false }) => print(&queues_in_effect(&load_deferred(g)?)),
        ConfigCmd::Queues(QueuesArgs { online: true }) => {
            let config = config::load(&g.config_path()).map_err(crate::exit::usage)?;
            print(&super::online::propose_queues(&config).await?)
        }
        ConfigCmd::Schema => {
            let schema = serde_json::to_string_pretty(&config::json_schema()).context("cannot render the schema")?;
            print(&(schema + "\n"))
        }
    }
}

/// Load for offline use: an environment variable that is not set here is a warning.
fn load_deferred(g: &super::Global) -> anyhow::Result<config::Config> {
    // `check` prints the warnings itself, located, on stderr.
    config::load_with(&g.config_path(), config::Secrets::Deferred).map_err(crate::exit::usage)
}

fn init(path: &Path, force: bool) -> anyhow::Result<Exit> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = match options.open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(exit::usage(anyhow::anyhow!(
                "{} already exists; pass --force to overwrite it, or give another path",
                path.display()
            )));
        }
        other => other.with_context(|| format!("cannot create {}", path.display()))?,
    };
    file.write_all(config::EXAMPLE.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    outln!("wrote {}", path.display());
    outln!(
        "next: edit the trackers, export JIRA_TOKEN and SERVICENOW_TOKEN, then run `twotrack config check --config {}`",
        path.display()
    );
    Ok(Exit::Ok)
}

fn check(config: &Config, g: &super::Global) -> anyhow::Result<Exit> {
    let trackers: Vec<String> =
        config.trackers.iter().map(|t| format!("{} ({} {})", t.name, t.kind(), t.role)).collect();
    let mode = if config.policy.dry_run { "dry run" } else { "moves enabled" };
    outln!(
        "{}: ok: {} tracker{}: {}; sync \"{}\" ({}); {mode}",
        config.source.display(),
        trackers.len(),
        if trackers.len() == 1 { "" } else { "s" },
        trackers.join(", "),
        config.schedule.sync_expr,
        config.schedule.timezone.name(),
    );
    for warning in &config.warnings {
        errln!("{}", crate::logging::problem_line(g.log_format, warning));
    }
    Ok(Exit::Ok)
}

/// The queues in effect (the built-in ones with the file's merged in), as `[[queue]]` TOML.
fn queues_in_effect(config: &Config) -> String {
    #[derive(serde::Serialize)]
    struct Queues<'a> {
        queue: &'a [crate::classify::QueueSpec],
    }
    let header = format!(
        "# The [[queue]] entries in effect for {}: the built-in ones with the file's merged in by name.\n\
         # `twotrack config queues --online` proposes entries from a ServiceNow instance's assignment groups.\n\n",
        config.source.display()
    );
    header + &toml::to_string(&Queues { queue: &config.queues }).unwrap_or_default()
}

fn print(text: &str) -> anyhow::Result<Exit> {
    super::output::print(text)?;
    Ok(Exit::Ok)
}
