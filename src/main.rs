//! The `twotrack` binary: parse the command line, install logging, run, map the outcome to an exit code.
//! Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use twotrack::cli::Cli;
use twotrack::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    twotrack::logging::install(cli.global.log_format, cli.global.verbosity());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    let outcome = runtime.block_on(cli.run());
    // Drop the runtime (and with it every task) before returning, so destructors run and sled flushes.
    drop(runtime);
    match outcome {
        Ok(exit) => exit.into(),
        Err(err) => {
            let exit = twotrack::exit::classify(&err);
            eprintln!("error: {}", twotrack::exit::render(&err));
            exit.into()
        }
    }
}
