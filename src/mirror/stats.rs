//! Counts over the whole mirror, for `twotrack mirror stats`.

use std::collections::BTreeMap;

use super::{Mirror, MirrorError, SyncRecord};

/// Items and their state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub items: u64,
    pub open: u64,
    pub closed: u64,
}

impl Counts {
    fn add(&mut self, open: bool) {
        self.items += 1;
        if open {
            self.open += 1;
        } else {
            self.closed += 1;
        }
    }
}

/// What the mirror holds for one tracker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackerStats {
    pub total: Counts,
    /// By the type as filed (Jira issue type, ServiceNow table); an item without one counts under "".
    pub by_type: BTreeMap<String, Counts>,
    pub last_sync: Option<SyncRecord>,
}

/// What the mirror holds, per tracker (every tracker with items or a sync record).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub trackers: BTreeMap<String, TrackerStats>,
    pub size_on_disk: u64,
}

impl Stats {
    /// Counts over all trackers.
    pub fn total(&self) -> Counts {
        self.trackers.values().fold(Counts::default(), |acc, t| Counts {
            items: acc.items + t.total.items,
            open: acc.open + t.total.open,
            closed: acc.closed + t.total.closed,
        })
    }
}

impl Mirror {
    /// Count every item by tracker, type and state, with each tracker's last sync (one pass over the items).
    pub fn stats(&self) -> Result<Stats, MirrorError> {
        let mut trackers: BTreeMap<String, TrackerStats> = BTreeMap::new();
        for item in self.items(None) {
            let item = item?;
            let tracker = trackers.entry(item.tracker).or_default();
            tracker.total.add(item.open);
            tracker.by_type.entry(item.filed_type).or_default().add(item.open);
        }
        for (tracker, record) in self.sync_records()? {
            trackers.entry(tracker).or_default().last_sync = Some(record);
        }
        Ok(Stats { trackers, size_on_disk: self.size_on_disk()? })
    }
}
