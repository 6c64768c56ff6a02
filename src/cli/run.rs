//! `twotrack run` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct RunArgs {}
pub async fn run(_a: RunArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack run` is not available in this build yet")
}
