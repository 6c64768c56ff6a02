//! `twotrack demo` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct DemoArgs {}
pub async fn run(_a: DemoArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack demo` is not available in this build yet")
}
