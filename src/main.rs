//! The `twotrack` binary: parse the command line, install logging, run, map the outcome to an exit code.
//! Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use twotrack::cli::{Cli, Command};
use twotrack::exit::Exit;
use twotrack::logging;

/// mimalloc, not the system allocator: the audit judges on every core, and items read on one thread
/// are freed on another; glibc's malloc spent about a third of the audit's time at 1,000,000 items per
/// tracker in its arenas' locks and consolidation (see BENCHMARKS.md). Built without transparent huge
/// pages (`no_thp`), so that the resident memory follows what is in use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    twotrack::mirror::quiet_storage_panics();
    let cli = Cli::parse();
    return_memory(&cli.command);
    let format = cli.global.log_format;
    twotrack::logging::install(format, cli.global.verbosity());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            say(&logging::message_line(format, &format!("cannot start the async runtime: {e}")));
            return Exit::Failure.into();
        }
    };
    let outcome = runtime.block_on(cli.run());
    // Drop the runtime (and with it every task) before returning, so destructors run and sled flushes.
    drop(runtime);
    // A failed write to stdout decides how a failed command ends (see `twotrack::cli::output`).
    let stdout_failed = twotrack::cli::output::failure();
    match (outcome, stdout_failed) {
        (Ok(exit), None) => exit.into(),
        // The reader went away (`| head`): nothing is wrong, and nothing more to say.
        (_, Some((std::io::ErrorKind::BrokenPipe, _))) => Exit::Ok.into(),
        (_, Some((_, message))) => {
            say(&logging::message_line(format, &format!("cannot write to standard output: {message}")));
            Exit::Failure.into()
        }
        (Err(err), None) => {
            say(&logging::error_lines(format, &err));
            twotrack::exit::classify(&err).into()
        }
    }
}

/// A line on stderr; a stderr that cannot be written to is not worth a panic.
fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// How soon mimalloc gives memory it no longer uses back to the system: at once for the long-lived and
/// the I/O-bound commands (a sync's pages come and go; the daemon runs for months), 10 ms later for
/// the batch commands that judge the whole mirror, where giving back at once cost more system time
/// than the memory was worth (the audit at 1,000,000 items per tracker, in an earlier
/// build: 86.5 s at once, 59.0 s at 100 ms). Not later: what they free in 100 ms (items read, judged
/// and dropped) was 21 MiB of that audit's peak (398.7 MiB against 377.7 at 10 ms, in the same time;
/// BENCHMARKS.md).
fn return_memory(command: &Command) {
    let delay_ms = match command {
        Command::Audit(_) | Command::Classify(_) | Command::Explain(_) => 10,
        _ => 0,
    };
    // SAFETY: `mi_option_set` sets one option of the allocator; the purge delay is read at each purge.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, delay_ms) }
}

/// `mi_option_purge_delay` in the `mi_option_e` of the mimalloc that `libmimalloc-sys` bundles (v3);
/// the test below checks it against the option's documented default.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option has no effect but initialising it (from MIMALLOC_PURGE_DELAY).
        let delay = unsafe { super::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        let expected = std::env::var("MIMALLOC_PURGE_DELAY").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
        assert_eq!(delay, expected, "option {} is not mimalloc's purge delay", super::MI_OPTION_PURGE_DELAY);
    }
}
