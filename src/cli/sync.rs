//! `twotrack sync` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct SyncArgs {}
pub async fn run(_args: SyncArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack sync` is not available in this build yet")
}
