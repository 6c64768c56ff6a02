//! Failpoints for crash tests: `TWOTRACK_FAILPOINT=<name>` aborts the process (no destructors, no
//! flush: as close to SIGKILL as a process can do to itself) when execution reaches `<name>`.
//! Names are `before-<step>` and `after-<step>` for the saga's remote calls: find, read, create,
//! link, copy-comment (each of the original's comments carried to the twin), copy-attachment (each
//! of the original's attachments uploaded to the twin; `after-attachment-note` once the twin was told which
//! stayed behind), comment, close (moves), update (reroutes and reprioritisations), followback, and `before-done`;
//! where an original's notes cannot be read, `after-marker` and `after-followback-marker` (the marker
//! label that confirms a note, see `saga::post_once`); the storm saga's are the same with a `storm-`
//! prefix (`storm-before-create`, `storm-after-attach`, ...).

use std::sync::OnceLock;

fn configured() -> Option<&'static str> {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    POINT.get_or_init(|| std::env::var("TWOTRACK_FAILPOINT").ok().filter(|s| !s.is_empty())).as_deref()
}

/// Abort the process if the failpoint `name` is armed.
pub fn hit(name: &str) {
    if configured() == Some(name) {
        eprintln!("twotrack: failpoint {name} reached; aborting");
        std::process::abort();
    }
}
