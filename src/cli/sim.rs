//! `twotrack sim` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct SimArgs {}
pub async fn run(_a: SimArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack sim` is not available in this build yet")
}
