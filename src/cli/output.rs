//! Standard output, for every command.
//!
//! Every command writes its output through [`stdout`] (or the `outln!` / `out!` macros). A write
//! that fails is remembered here, once, and `main` decides what it means, the way ripgrep does: the
//! reader went away (`twotrack audit | head`: a broken pipe) ends the command quietly with exit 0;
//! anything else (`> /dev/full`: no space left) is an error, exit 1. Nothing panics on a closed or
//! full stdout, and the error never reads as something else (a mirror that cannot encode an item).
//! Messages beside the output go to stderr with `errln!`: a closed stderr loses them, nothing more.

use std::io::{self, Write};
use std::sync::OnceLock;

/// The first failed write to stdout in this process: its kind and message.
static FAILED: OnceLock<(io::ErrorKind, String)> = OnceLock::new();

/// Stdout, locked, remembering a failed write.
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

/// See [`stdout`].
pub struct Stdout(io::StdoutLock<'static>);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(noted)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).map_err(noted)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(noted)
    }
}

fn noted(e: io::Error) -> io::Error {
    // An interrupted write is retried by the writer, not a failure.
    if e.kind() != io::ErrorKind::Interrupted {
        let _ = FAILED.set((e.kind(), e.to_string()));
    }
    e
}

/// How writing to stdout failed, if it did.
pub fn failure() -> Option<&'static (io::ErrorKind, String)> {
    FAILED.get()
}

/// Write all of `text` to stdout and flush it.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = stdout();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| anyhow::Error::new(e).context(CONTEXT))
}

/// The context of an error from a write to stdout (`main` replaces it with the remembered failure).
pub const CONTEXT: &str = "cannot write to standard output";

/// `println!` that returns the error (with `?`) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::cli::output::stdout(), $($arg)*)
            .map_err(|e| anyhow::Error::new(e).context($crate::cli::output::CONTEXT))?
    }};
}
pub(crate) use outln;

/// `eprintln!` for messages beside the output: a stderr that cannot be written to (closed by the
/// caller) loses the message, and the command goes on; it is no reason to panic.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}
pub(crate) use errln;
