//! Documented exit codes, and how errors map to them.
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (also when stdout's reader went away: `twotrack audit \| head`) |
//! | 1 | runtime failure (a tracker unreachable, an I/O error, stdout that cannot be written, ...) |
//! | 2 | bad configuration or usage (the message says file:line:col and what to do) |
//! | 3 | `--fail-on` found findings of the requested kind |
//! | 4 | a safety guard refused the work (the circuit breaker: a cycle would move too large a share of a tracker) |
//! | 5 | another twotrack instance holds the writer lease of these trackers (a fresh heartbeat: see `crate::writer`) |

use std::fmt;
use std::process::ExitCode;

/// A process outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failure = 1,
    Usage = 2,
    Findings = 3,
    Refused = 4,
    /// Another instance writes to these trackers.
    Held = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// An error that carries the exit code it should end the process with.
#[derive(Debug)]
pub struct Coded {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Coded {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Wrap an error as a usage / configuration error (exit 2).
pub fn usage(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Coded { exit: Exit::Usage, error: error.into() })
}

/// Wrap an error with an explicit exit code.
pub fn coded(exit: Exit, error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Coded { exit, error: error.into() })
}

/// The exit code for an error: the first [`Coded`] in its chain, otherwise 1.
pub fn classify(err: &anyhow::Error) -> Exit {
    err.chain().find_map(|e| e.downcast_ref::<Coded>().map(|c| c.exit)).unwrap_or(Exit::Failure)
}

/// The error and its causes, one per line, for a human.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for (i, cause) in err.chain().enumerate() {
        let text = cause.to_string();
        // `Coded` displays its inner error; skip exact repeats so each message shows once.
        if text == last {
            continue;
        }
        if i > 0 {
            out.push_str("\n  caused by: ");
        }
        out.push_str(&text);
        last = text;
    }
    out
}
