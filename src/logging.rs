//! Logging setup: human-readable by default, JSON lines with `--log-format json`. Called only from `main`.

use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// Install the global subscriber. `RUST_LOG` overrides the level given by -v / -q.
pub fn install(format: LogFormat, level: tracing::Level) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{},sled=warn,hyper=warn,reqwest=warn,h2=warn", level.as_str().to_lowercase()))
    });
    // A log line that cannot be written (stderr closed) is lost; by default the subscriber would report
    // that with `eprintln!`, which panics on the same closed stderr.
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false);
    let _ = match format {
        LogFormat::Human => {
            use std::io::IsTerminal;
            builder.with_target(false).with_ansi(std::io::stderr().is_terminal()).try_init()
        }
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
}
