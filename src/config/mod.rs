//! Configuration (being written).
pub const DEFAULT_PATH: &str = "twotrack.toml";
#[derive(Debug)]
pub struct Config {}
#[derive(Debug, thiserror::Error)]
#[error("configuration is being written")]
pub struct ConfigErrors;
pub fn load(_path: &std::path::Path) -> Result<Config, ConfigErrors> {
    Err(ConfigErrors)
}
