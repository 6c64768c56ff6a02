//! Storms: a burst of reports about one event (an outage the night before, 500 "checkout down" tickets)
//! recognised as one thing instead of N separate items. Pure: given items, return storms; no I/O.
//!
//! - `words`: a ticket's text as content words (lower-cased, plurals folded, stop words dropped).
//! - `detect`: the [`Detector`]: TF-IDF vectors, near-duplicate pairs within the time window, groups,
//!   and the burst test that keeps steady traffic (ten password resets a day) from counting as a storm.
//! - `priority`: a storm's impact from how many people it reaches, through the priority matrix.
//!
//! How a storm is found, in order (each step deterministic: same items, same storms, same member order):
//! 1. Every open item becomes a vector of its content words, each weighted by how rare it is on the
//!    site (inverse document frequency; a summary word counts twice a description word).
//! 2. Two items are near-duplicates when they were created at most `window` apart and the cosine of
//!    their vectors is at least `similarity`. An item's candidates are the latest 16 earlier items of
//!    the window that have one of its six rarest words: the cost grows with the items, not with the
//!    items in the window (a large site has thousands of them a word).
//! 3. Near-duplicates are joined into groups, none spanning more than two windows (on a busy site,
//!    chains of everyday near-duplicates would otherwise join the whole history into one group and
//!    bury any storm in it); a group of at least `min_size` items whose members each resemble the
//!    group as a whole (cosine to its centroid at least `similarity`) and share at least one word is
//!    a candidate.
//! 4. The burst test: the site's other items like the group give its everyday rate (counted on at most
//!    2,048 items a word, evenly spread, in the two weeks either side); a candidate is a storm only if
//!    that many reports in its span would be a one-in-a-billion chance at that rate.
//!
//! What the corrections will need (issue 16, part 3) is on [`Storm`]: the members in arrival order,
//! a stable [`Storm::anchor`] (the first report: the key of a parent's idempotent create), the
//! proposed [`Parent`] and the [`StormPriority`] with its derivation.

mod detect;
mod priority;
mod words;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

pub use detect::{Detector, Reading, detect};
pub use priority::{StormPriority, largest_stated, prioritise};

/// How storms are found (`[storm]` in the configuration; serialized in the file's shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StormParams {
    /// Look for storms at all.
    pub enabled: bool,
    /// Two reports are of one storm only if created at most this far apart.
    #[serde(rename = "window_minutes", serialize_with = "minutes")]
    pub window: TimeDelta,
    /// The fewest reports that make a storm.
    pub min_size: usize,
    /// The cosine (0..1) of two reports' word vectors from which they say the same thing.
    pub similarity: f64,
    /// From how many people reached (distinct reporters, or a count stated in a report) a storm has
    /// impact 1 (high); fewer, but more than one, is impact 2.
    pub wide_reach: u64,
}

fn minutes<S: serde::Serializer>(window: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(window.num_minutes())
}

/// The defaults: reports of one event arrive within hours of each other, a handful of them is already
/// worth one incident, and varied human wording of one outage reaches a cosine of about 0.3 to 0.6
/// while unrelated tickets stay below 0.2.
pub const DEFAULT_WINDOW_MINUTES: i64 = 360;
pub const DEFAULT_MIN_SIZE: usize = 5;
pub const DEFAULT_SIMILARITY: f64 = 0.3;
pub const DEFAULT_WIDE_REACH: u64 = 20;

impl Default for StormParams {
    fn default() -> Self {
        StormParams {
            enabled: true,
            window: TimeDelta::minutes(DEFAULT_WINDOW_MINUTES),
            min_size: DEFAULT_MIN_SIZE,
            similarity: DEFAULT_SIMILARITY,
            wide_reach: DEFAULT_WIDE_REACH,
        }
    }
}

/// One report of a storm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub summary: String,
    /// The tracker's issue type or table, as filed.
    pub filed_type: String,
    pub reporter: Option<String>,
    pub created: DateTime<Utc>,
    /// The urgency the classifier read in the report (Work only), 1 (high) ..= 3.
    pub urgency: Option<u8>,
    /// The cosine of the report's words to the storm's centroid: how typical of the storm it is.
    pub similarity: f64,
}

/// A storm: many reports of one event, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Storm {
    /// The reports, in arrival order (created, then tracker, then key).
    pub members: Vec<Member>,
    /// The words most members share, the most shared first: what the storm is about.
    pub words: Vec<String>,
    /// The first and the last report.
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// Distinct reporters (one person filing in both trackers counts once).
    pub reporters: usize,
    /// The reports that would be expected in the storm's span at the site's everyday rate of such
    /// reports: what the burst test measured the storm against.
    pub expected: f64,
}

impl Storm {
    /// The first report, (tracker, key): stable while the storm grows, so it names the storm (and a
    /// parent's idempotency key can derive from it).
    pub fn anchor(&self) -> (&str, &str) {
        let first = &self.members[0];
        (&first.tracker, &first.key)
    }

    /// The time from the first to the last report.
    pub fn span(&self) -> TimeDelta {
        self.last - self.first
    }

    /// Reports per bin of `bins` equal parts of the span (all in the first bin if the span is zero):
    /// the arrival curve.
    pub fn arrivals(&self, bins: usize) -> Vec<u64> {
        let bins = bins.max(1);
        let mut out = vec![0u64; bins];
        let span = self.span().num_seconds().max(1) as f64;
        for m in &self.members {
            let at = (m.created - self.first).num_seconds() as f64 / span;
            let bin = ((at * bins as f64) as usize).min(bins - 1);
            out[bin] += 1;
        }
        out
    }

    /// The storm in one line: "12 reports in 2h 05m from 11 reporters: checkout, down, payment".
    pub fn headline(&self) -> String {
        format!(
            "{} reports in {} from {} reporter{}: {}",
            self.members.len(),
            duration(self.span()),
            self.reporters,
            if self.reporters == 1 { "" } else { "s" },
            self.words.join(", ")
        )
    }
}

/// "2h 05m", "45m", "3d 4h".
pub fn duration(d: TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, _) => format!("{hours}h {mins:02}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// Where a storm's reports are gathered: one new incident of a service queue, created by twotrack for the
/// event (never one reporter's ticket: its caller, wording and resolution belong to that one report, and a
/// parent of its own stays the same while the storm grows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parent {
    /// The service queue the parent incident is created in.
    pub tracker: String,
}

impl Parent {
    /// "a new incident in servicenow".
    pub fn describe(&self) -> String {
        format!("a new incident in {}", self.tracker)
    }
}

/// The parent a storm's reports would be gathered under: a new incident in `service` (the service queue
/// new incidents go to). `None` when no service queue is configured.
pub fn propose_parent(service: Option<&str>) -> Option<Parent> {
    service.map(|tracker| Parent { tracker: tracker.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(tracker: &str, key: &str, filed_type: &str, minute: i64) -> Member {
        Member {
            tracker: tracker.into(),
            key: key.into(),
            url: String::new(),
            summary: String::new(),
            filed_type: filed_type.into(),
            reporter: None,
            created: DateTime::UNIX_EPOCH + TimeDelta::minutes(minute),
            urgency: None,
            similarity: 1.0,
        }
    }

    fn storm(members: Vec<Member>) -> Storm {
        let (first, last) = (members[0].created, members[members.len() - 1].created);
        Storm { members, words: vec!["checkout".into()], first, last, reporters: 3, expected: 0.0 }
    }

    #[test]
    fn the_parent_is_a_new_incident_in_the_service_queue() {
        let s = storm(vec![member("jira", "SHOP-1", "Bug", 0), member("servicenow", "INC2", "incident", 3)]);
        assert_eq!(propose_parent(Some("servicenow")), Some(Parent { tracker: "servicenow".into() }));
        assert_eq!(propose_parent(None), None);
        assert_eq!(s.anchor(), ("jira", "SHOP-1"), "the first report names the storm");
    }

    #[test]
    fn arrivals_count_every_member_once() {
        let s = storm((0..10).map(|i| member("jira", &format!("K-{i}"), "Bug", i * i)).collect());
        let bins = s.arrivals(6);
        assert_eq!(bins.iter().sum::<u64>(), 10);
        assert_eq!(bins.len(), 6);
        assert!(bins[0] > bins[5], "early reports come faster here: {bins:?}");
        assert_eq!(s.arrivals(0), vec![10]);
    }

    #[test]
    fn durations_read_as_a_human_writes_them() {
        assert_eq!(duration(TimeDelta::minutes(45)), "45m");
        assert_eq!(duration(TimeDelta::minutes(125)), "2h 05m");
        assert_eq!(duration(TimeDelta::minutes(3 * 1440 + 240)), "3d 4h");
        assert_eq!(duration(TimeDelta::minutes(-5)), "0m");
    }
}
