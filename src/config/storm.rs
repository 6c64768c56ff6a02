//! `[storm]`: how storms (many reports of one event) are found. The file format and its checks; the
//! detection itself is `crate::storm`.

use chrono::TimeDelta;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::storm::{DEFAULT_MIN_SIZE, DEFAULT_SIMILARITY, DEFAULT_WIDE_REACH, DEFAULT_WINDOW_MINUTES, StormParams};

/// Storms: a burst of reports about one event (an outage) shown as one thing.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RawStorm {
    /// Look for storms in the audit.
    pub enabled: bool,
    /// Reports of one storm are created at most this many minutes apart (1 ..= 10080, a week).
    pub window_minutes: i64,
    /// The fewest reports that make a storm (at least 3).
    pub min_size: usize,
    /// How alike two reports must be to say the same thing: the cosine of their word vectors
    /// (rare words weigh more), in 0.05 ..= 0.95.
    pub similarity: f64,
    /// From how many people reached (distinct reporters, or a count a report states) a storm has
    /// impact 1; at least 2.
    pub wide_reach: u64,
}

impl Default for RawStorm {
    fn default() -> Self {
        RawStorm {
            enabled: true,
            window_minutes: DEFAULT_WINDOW_MINUTES,
            min_size: DEFAULT_MIN_SIZE,
            similarity: DEFAULT_SIMILARITY,
            wide_reach: DEFAULT_WIDE_REACH,
        }
    }
}

/// A problem with one key: (path, message, help).
pub type StormProblem = (&'static str, String, String);

/// The parameters `raw` describes, or every problem with it.
pub fn validate(raw: &RawStorm) -> Result<StormParams, Vec<StormProblem>> {
    let mut problems = Vec::new();
    let mut check = |ok: bool, path: &'static str, message: String, help: &str| {
        if !ok {
            problems.push((path, message, help.to_string()));
        }
    };
    let (window, size, similarity, reach) = (raw.window_minutes, raw.min_size, raw.similarity, raw.wide_reach);
    check(
        (1..=10_080).contains(&window),
        "storm.window_minutes",
        format!("`storm.window_minutes` = {window} is out of range (1 ..= 10080, a week)"),
        "reports of one outage arrive within hours: e.g. `window_minutes = 360`",
    );
    check(
        size >= 3,
        "storm.min_size",
        format!("`storm.min_size` = {size} is too small: two alike tickets are a duplicate, not a storm"),
        "use at least 3, e.g. `min_size = 5`",
    );
    check(
        (0.05..=0.95).contains(&similarity),
        "storm.similarity",
        format!("`storm.similarity` = {similarity} is out of range (0.05 ..= 0.95)"),
        "lower finds more varied wordings, higher only near-copies: e.g. `similarity = 0.3`",
    );
    check(
        reach >= 2,
        "storm.wide_reach",
        format!("`storm.wide_reach` = {reach} must be at least 2"),
        "e.g. `wide_reach = 20`: a storm reaching 20 people has impact 1",
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(StormParams {
        enabled: raw.enabled,
        window: TimeDelta::minutes(raw.window_minutes),
        min_size: raw.min_size,
        similarity: raw.similarity,
        wide_reach: raw.wide_reach,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_match_the_detector_defaults() {
        assert_eq!(validate(&RawStorm::default()), Ok(StormParams::default()));
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let raw = RawStorm { enabled: true, window_minutes: 0, min_size: 2, similarity: 1.5, wide_reach: 1 };
        let paths: Vec<&str> = validate(&raw).unwrap_err().iter().map(|p| p.0).collect();
        assert_eq!(paths, ["storm.window_minutes", "storm.min_size", "storm.similarity", "storm.wide_reach"]);
    }
}
