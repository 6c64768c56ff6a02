//! `twotrack audit` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct AuditArgs {}
pub async fn run(_a: AuditArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack audit` is not available in this build yet")
}
