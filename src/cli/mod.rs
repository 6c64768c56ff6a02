//! The command line: one enum of subcommands, one small file per command.
//!
//! Commands parse their flags, load what they need, call into the library and print. Errors are
//! `anyhow` with context; configuration and usage errors are wrapped with [`crate::exit::usage`]
//! so they end the process with exit code 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::Exit;
use crate::logging::LogFormat;

pub mod apply;
pub mod audit;
pub mod classify;
pub mod completions;
pub mod config;
pub mod demo;
mod jsonl;
pub mod mirror;
pub mod online;
pub mod outbox;
pub mod output;
mod progress;
pub mod remote;
pub mod run;
pub mod sim;
mod spill;
pub mod sync;

/// twotrack keeps Work (service tickets) in the service queue and Value (features, defects) in the
/// product backlog: it mirrors Jira and ServiceNow, classifies every item, audits what is misfiled and
/// moves it, safely.
#[derive(Debug, Parser)]
#[command(name = "twotrack", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags that say how this process runs (what to sync is the configuration file's business).
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Configuration file [default: ./twotrack.toml]
    #[arg(long, global = true, env = "TWOTRACK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less output (-q warnings and errors only, -qq errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

impl Global {
    /// The configuration file this process uses.
    pub fn config_path(&self) -> PathBuf {
        self.config.clone().unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_PATH))
    }

    pub fn verbosity(&self) -> tracing::Level {
        match (self.verbose, self.quiet) {
            (0, 0) => tracing::Level::INFO,
            (1, _) => tracing::Level::DEBUG,
            (v, _) if v >= 2 => tracing::Level::TRACE,
            (_, 1) => tracing::Level::WARN,
            _ => tracing::Level::ERROR,
        }
    }

    /// Load and validate the configuration; problems are a usage error (exit 2).
    pub fn load_config(&self) -> anyhow::Result<crate::config::Config> {
        crate::config::load(&self.config_path()).map(|c| self.warn_about(c)).map_err(crate::exit::usage)
    }

    /// Load for commands that never contact a tracker (audit without --sync, classify, explain, mirror,
    /// history): a token environment variable that is not set here is a warning, not an error.
    pub fn load_config_offline(&self) -> anyhow::Result<crate::config::Config> {
        crate::config::load_with(&self.config_path(), crate::config::Secrets::Deferred)
            .map(|c| self.warn_about(c))
            .map_err(crate::exit::usage)
    }

    /// Whether progress bars may be drawn (stderr is a terminal and we were not asked to be quiet).
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        self.quiet == 0 && std::io::stderr().is_terminal()
    }
}

impl Global {
    /// Log the configuration's warnings (e.g. an inline token) once per command; under JSON with the
    /// problem's fields (file, line, col, help) as the log line's own.
    fn warn_about(&self, config: crate::config::Config) -> crate::config::Config {
        for w in &config.warnings {
            match self.log_format {
                LogFormat::Human => tracing::warn!("{w}"),
                LogFormat::Json => tracing::warn!(
                    severity = w.severity.as_str(),
                    file = %w.file.display(),
                    line = w.line,
                    col = w.col,
                    help = %w.help,
                    "{}",
                    w.message
                ),
            }
        }
        config
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write, check, show or describe the configuration file.
    #[command(subcommand)]
    Config(config::ConfigCmd),
    /// Pull every configured tracker into the local mirror.
    Sync(sync::SyncArgs),
    /// Inspect or export the local mirror.
    #[command(subcommand)]
    Mirror(mirror::MirrorCmd),
    /// Classify items read as JSON Lines (a file or stdin) and print one verdict per line.
    Classify(classify::ClassifyArgs),
    /// Show the verdict and its reasons for one item of the mirror.
    Explain(classify::ExplainArgs),
    /// Work with classification rules.
    #[command(subcommand)]
    Rules(classify::RulesCmd),
    /// Dry-run audit: what is misfiled, misrouted or misprioritised, where it belongs and why.
    Audit(audit::AuditArgs),
    /// Turn findings into corrections and carry them out (asks for --yes; dry run by default).
    Apply(apply::ApplyArgs),
    /// Show the audit log of one item.
    History(apply::HistoryArgs),
    /// List, retry or cancel the corrections in the outbox (parked ones wait here for an operator).
    #[command(subcommand)]
    Outbox(outbox::OutboxCmd),
    /// Run the scheduled daemon (sync, plan, apply, follow-back) with health and metrics endpoints.
    Run(run::RunArgs),
    /// Run the whole job against built-in simulators with a generated mixed backlog.
    Demo(demo::DemoArgs),
    /// Serve the Jira and ServiceNow simulators until Ctrl-C.
    Sim(sim::SimArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<Exit> {
        let g = &self.global;
        match self.command {
            Command::Config(cmd) => config::run(cmd, g).await,
            Command::Sync(args) => sync::run(args, g).await,
            Command::Mirror(cmd) => mirror::run(cmd, g).await,
            Command::Classify(args) => classify::run_classify(args, g).await,
            Command::Explain(args) => classify::run_explain(args, g).await,
            Command::Rules(cmd) => classify::run_rules(cmd, g).await,
            Command::Audit(args) => audit::run(args, g).await,
            Command::Apply(args) => apply::run_apply(args, g).await,
            Command::History(args) => apply::run_history(args, g).await,
            Command::Outbox(cmd) => outbox::run(cmd, g).await,
            Command::Run(args) => run::run(args, g).await,
            Command::Demo(args) => demo::run(args, g).await,
            Command::Sim(args) => sim::run(args, g).await,
            Command::Completions(args) => completions::run(args),
        }
    }
}
