//! `twotrack completions SHELL`

use clap::CommandFactory;

use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs) -> anyhow::Result<Exit> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "twotrack", &mut std::io::stdout());
    Ok(Exit::Ok)
}
