//! `twotrack classify`, `explain`, `rules` (being written).
use crate::exit::Exit;
#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {}
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {}
#[derive(Debug, clap::Subcommand)]
pub enum RulesCmd {
    /// Run the test cases carried by the rules files.
    Test,
}
pub async fn run_classify(_a: ClassifyArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack classify` is not available in this build yet")
}
pub async fn run_explain(_a: ExplainArgs, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack explain` is not available in this build yet")
}
pub async fn run_rules(_c: RulesCmd, _g: &super::Global) -> anyhow::Result<Exit> {
    anyhow::bail!("`twotrack rules` is not available in this build yet")
}
