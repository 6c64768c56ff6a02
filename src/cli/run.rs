//! `twotrack run [--once]`: the scheduled daemon.

use futures::StreamExt;

use crate::daemon::{self, Options};
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run one full cycle (sync, apply, follow-back) and exit: for systemd timers, cron or Kubernetes CronJobs.
    #[arg(long)]
    pub once: bool,
}

pub async fn run(args: RunArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = g.load_config()?;
    let opts = Options { config_path: g.config_path(), once: args.once };
    let hangups = hangups()?;
    daemon::run(config, opts, shutdown_signal(), hangups).await?;
    Ok(Exit::Ok)
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
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
        Ok(futures::stream::poll_fn(move |cx| hup.poll_recv(cx)).boxed())
    }
    #[cfg(not(unix))]
    {
        Ok(futures::stream::pending().boxed())
    }
}
