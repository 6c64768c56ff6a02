//! `twotrack apply`, `history` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {}
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {}
pub async fn run_apply(_a: ApplyArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack apply` is not available in this build yet")
}
pub async fn run_history(_a: HistoryArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack history` is not available in this build yet")
}
