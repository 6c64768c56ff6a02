//! `twotrack mirror` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Subcommand)]
pub enum MirrorCmd {
    /// Items per tracker, type and state; last sync.
    Stats,
}
pub async fn run(_cmd: MirrorCmd, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack mirror` is not available in this build yet")
}
