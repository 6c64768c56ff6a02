//! The dry-run audit: classify every open item of the mirror and build the report. Writes nothing to
//! any tracker.

use chrono::{SecondsFormat, Utc};

use crate::classify::{Classifier, RulesError};
use crate::config::Config;
use crate::mirror::{Mirror, MirrorError};
use crate::plan::Planner;
use crate::report::{Report, ReportBuilder};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error("the classification rules are invalid: {0}")]
    Rules(#[from] RulesError),
}

/// Build the classifier the configuration describes.
pub fn classifier(config: &Config) -> Result<Classifier, RulesError> {
    Classifier::new(&config.rules, &config.queues, &config.priority)
}

/// Audit the mirror (optionally one tracker) and return the report.
pub fn audit(config: &Config, mirror: &Mirror, tracker: Option<&str>) -> Result<Report, AuditError> {
    let classifier = classifier(config)?;
    let planner = Planner::new(config, &classifier);
    let mut builder = ReportBuilder::new(&planner, Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    for item in mirror.items(tracker) {
        let item = item?;
        if !item.open {
            continue;
        }
        if let Some(a) = planner.assess(item) {
            builder.add(&a);
        }
    }
    Ok(builder.finish())
}
