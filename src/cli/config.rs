//! `twotrack config` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCmd {
    /// Check the configuration file.
    Check,
}
pub async fn run(_c: ConfigCmd, g: &super::Global) -> anyhow::Result<Exit> {
    g.load_config()?;
    Ok(Exit::Ok)
}
