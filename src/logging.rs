//! Logging setup: human-readable by default, JSON lines with `--log-format json`. [`install`] is called
//! only from `main`.
//!
//! What ends a command (its error) and the configuration's problems are written on stderr in the same
//! format as the log, but not through the log's filter: `RUST_LOG=off` or `-qq` never hides them. Under
//! JSON each configuration problem is one object, in the shape of a log line:
//! `{"timestamp", "level", "target", "message", "severity", "file", "line", "col", "help"}` (`line` and
//! `col` are null when the problem concerns the whole file); any other error is one object with
//! `timestamp`, `level`, `target`, `message` and `severity`.

use serde_json::json;
use tracing_subscriber::EnvFilter;

use crate::config::{ConfigErrors, Problem, Severity};

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

/// A configuration problem as a line for stderr: `file:line:col: error: ...` plus its help line, or
/// under JSON one object.
pub fn problem_line(format: LogFormat, p: &Problem) -> String {
    match format {
        LogFormat::Human => p.to_string(),
        LogFormat::Json => {
            let known = p.line > 0;
            json!({
                "timestamp": now(),
                "level": level(p.severity),
                "target": "twotrack::config",
                "message": p.message,
                "severity": p.severity,
                "file": p.file.display().to_string(),
                "line": known.then_some(p.line),
                "col": known.then_some(p.col),
                "help": p.help,
            })
            .to_string()
        }
    }
}

/// The error that ends a command, for stderr: `error: ...` with its causes, or under JSON one object per
/// configuration problem (when the configuration is what failed) or one for the error.
pub fn error_lines(format: LogFormat, err: &anyhow::Error) -> String {
    match (format, config_errors(err)) {
        (LogFormat::Human, _) => format!("error: {}", crate::exit::render(err)),
        (LogFormat::Json, Some(errors)) => {
            errors.problems().iter().map(|p| problem_line(format, p)).collect::<Vec<_>>().join("\n")
        }
        (LogFormat::Json, None) => message_line(format, &crate::exit::render(err)),
    }
}

/// An error message of the process itself (the runtime cannot start, stdout cannot be written).
pub fn message_line(format: LogFormat, message: &str) -> String {
    match format {
        LogFormat::Human => format!("error: {message}"),
        LogFormat::Json => json!({
            "timestamp": now(),
            "level": level(Severity::Error),
            "target": "twotrack",
            "message": message,
            "severity": Severity::Error,
        })
        .to_string(),
    }
}

/// The configuration's problems in `err`'s chain, also when wrapped as a usage error.
fn config_errors(err: &anyhow::Error) -> Option<&ConfigErrors> {
    err.chain().find_map(|e| {
        e.downcast_ref::<ConfigErrors>()
            .or_else(|| e.downcast_ref::<crate::exit::Coded>().and_then(|c| c.error.downcast_ref::<ConfigErrors>()))
    })
}

/// The log's level name for a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "ERROR",
        Severity::Warning => "WARN",
    }
}

/// A timestamp as the JSON log writes it (RFC 3339, UTC, microseconds).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
