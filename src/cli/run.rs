//! `twotrack run [--once]`: the scheduled daemon, with SIGTERM / SIGINT (stop) and SIGHUP (reload) wired up.

use std::path::PathBuf;

use futures::StreamExt;

use crate::daemon::{self, DaemonError, Options};
use crate::exit::{Exit, coded};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run one full cycle (sync, apply, follow-back) and exit: for systemd timers, cron or Kubernetes CronJobs.
    #[arg(long)]
    pub once: bool,
    /// Write the address the HTTP listener bound (host:port) to this file once it listens (useful with
    /// `listen = "127.0.0.1:0"`).
    #[arg(long, env = "TWOTRACK_LISTEN_FILE", value_name = "PATH", hide = true)]
    pub listen_file: Option<PathBuf>,
}

pub async fn run(args: RunArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = g.load_config()?;
    let opts = Options { once: args.once, listen_file: args.listen_file, ..Options::new(g.config_path()) };
    let hangups = hangups()?;
    match daemon::run(config, opts, shutdown_signal(), hangups).await {
        Ok(()) => Ok(Exit::Ok),
        Err(e @ DaemonError::Cycle { refused: true, .. }) => Err(coded(Exit::Refused, e)),
        Err(e @ DaemonError::Cycle { held: true, .. }) => Err(coded(Exit::Held, e)),
        Err(e) => Err(e.into()),
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!(signal = "SIGTERM", "stop requested"),
                    _ = tokio::signal::ctrl_c() => tracing::info!(signal = "SIGINT", "stop requested"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A stream that yields on every SIGHUP.
fn hangups() -> anyhow::Result<futures::stream::BoxStream<'static, ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = signal(SignalKind::hangup())?;
        Ok(futures::stream::poll_fn(move |cx| hup.poll_recv(cx))
            .inspect(|()| tracing::info!(signal = "SIGHUP", "reload requested"))
            .boxed())
    }
    #[cfg(not(unix))]
    {
        Ok(futures::stream::pending().boxed())
    }
}
