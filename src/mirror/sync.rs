//! Sync bookkeeping: per-scope cursors and the outcome of each tracker's last sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::Transactional;

use super::{Mirror, MirrorError, PageOutcome, Writing, codec, encode_error};
use crate::api::connector::Cursor;
use crate::api::model::Item;

/// A partitioned full pull of one scope under way: written before its first page, removed (with every
/// partition's progress) when the scope's cursor is stored at its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionPlan {
    /// When the pull began: the scope's cursor never ends later than this (less a margin), since an item
    /// edited while another partition was pulled may sort before what that partition saw.
    pub started: DateTime<Utc>,
    /// How many items the scope holds, as the tracker said when the pull began.
    pub total: Option<u64>,
    /// How many partitions.
    pub partitions: usize,
}

/// Where one partition of a full pull stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The token of its next page; `None` once it was pulled to its end.
    pub next: Option<String>,
    /// Advanced over every item it stored.
    pub cursor: Cursor,
    /// Items it stored.
    pub pulled: u64,
}

const PLAN: &[u8] = b"\x01plan";

fn plan_key(tracker: &str, scope: &str) -> Vec<u8> {
    codec::key(&[tracker.as_bytes(), scope.as_bytes(), PLAN])
}

fn partition_key(tracker: &str, scope: &str, index: usize) -> Vec<u8> {
    codec::key(&[tracker.as_bytes(), scope.as_bytes(), PLAN, &(index as u64).to_be_bytes()])
}

/// The outcome of one sync of one tracker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRecord {
    /// When the sync finished.
    pub at: DateTime<Utc>,
    /// Items received from the tracker.
    pub pulled: u64,
    /// Of those, items the mirror had not seen.
    pub new: u64,
    /// Of those, items whose content changed.
    pub changed: u64,
    /// Whether every scope was pulled to the end.
    pub ok: bool,
    /// What went wrong, when `ok` is false.
    pub error: Option<String>,
}

impl Mirror {
    /// Where the next pull of `tracker`'s `scope` resumes; `None` before the first page was stored.
    pub fn cursor(&self, tracker: &str, scope: &str) -> Result<Option<Cursor>, MirrorError> {
        let inner = &*self.inner;
        let raw =
            inner.cursors.get(codec::key(&[tracker.as_bytes(), scope.as_bytes()])).map_err(|e| inner.storage(e))?;
        raw.map(|raw| codec::decode_json(&raw).map_err(|u| inner.corrupt("cursor", u))).transpose()
    }

    /// Forget every cursor of `tracker`, so that its next sync pulls everything (`sync --full`); returns
    /// how many were removed. Items stay: a full pull then reports them as unchanged.
    pub fn reset_cursors(&self, tracker: &str) -> Result<usize, MirrorError> {
        codec::check_name("tracker", tracker)?;
        let inner = &*self.inner;
        let keys = inner.cursors.scan_prefix(codec::prefix(tracker)).keys();
        let keys = keys.collect::<Result<Vec<_>, _>>().map_err(|e| inner.storage(e))?;
        let result = (&inner.cursors,).transaction(|(cursors,)| {
            for key in &keys {
                cursors.remove(key)?;
            }
            Ok(keys.len())
        });
        inner.finish(result)
    }

    /// The partitioned full pull of `scope` under way, with where each partition stands; `None` when none is.
    pub fn partitions(
        &self,
        tracker: &str,
        scope: &str,
    ) -> Result<Option<(PartitionPlan, Vec<PartitionState>)>, MirrorError> {
        let inner = &*self.inner;
        let Some(raw) = inner.cursors.get(plan_key(tracker, scope)).map_err(|e| inner.storage(e))? else {
            return Ok(None);
        };
        let plan: PartitionPlan = codec::decode_json(&raw).map_err(|u| inner.corrupt("partition plan", u))?;
        let mut states = Vec::with_capacity(plan.partitions);
        for index in 0..plan.partitions {
            let raw = inner.cursors.get(partition_key(tracker, scope, index)).map_err(|e| inner.storage(e))?;
            let raw = raw.ok_or_else(|| {
                inner.corrupt(
                    "partition",
                    codec::Undecodable::Invalid(format!("partition {index} of {scope} is missing")),
                )
            })?;
            states.push(codec::decode_json(&raw).map_err(|u| inner.corrupt("partition", u))?);
        }
        Ok(Some((plan, states)))
    }

    /// Begin a partitioned full pull of `scope`: the plan and each partition's first page token, atomically.
    pub fn begin_partitions(
        &self,
        tracker: &str,
        scope: &str,
        plan: &PartitionPlan,
        tokens: &[String],
    ) -> Result<Vec<PartitionState>, MirrorError> {
        codec::check_name("tracker", tracker)?;
        codec::check_name("scope", scope)?;
        let states: Vec<PartitionState> = tokens
            .iter()
            .map(|token| PartitionState { next: Some(token.clone()), ..PartitionState::default() })
            .collect();
        let plan = PartitionPlan { partitions: states.len(), ..plan.clone() };
        let mut writes = vec![(plan_key(tracker, scope), codec::encode_json(&plan).map_err(encode_error("plan"))?)];
        for (index, state) in states.iter().enumerate() {
            let value = codec::encode_json(state).map_err(encode_error("partition"))?;
            writes.push((partition_key(tracker, scope, index), value));
        }
        let result = (&self.inner.cursors,).transaction(|(cursors,)| {
            for (key, value) in &writes {
                cursors.insert(key.as_slice(), value.as_slice())?;
            }
            Ok(())
        });
        self.inner.finish(result)?;
        Ok(states)
    }

    /// End `scope`'s partitioned full pull: store its cursor, forget the plan and the partitions, atomically.
    pub fn finish_partitions(&self, tracker: &str, scope: &str, cursor: &Cursor) -> Result<(), MirrorError> {
        codec::check_name("tracker", tracker)?;
        codec::check_name("scope", scope)?;
        let inner = &*self.inner;
        let cursor_key = codec::key(&[tracker.as_bytes(), scope.as_bytes()]);
        let cursor_value = codec::encode_json(cursor).map_err(encode_error("cursor"))?;
        let stale = inner.cursors.scan_prefix(plan_key(tracker, scope)).keys();
        let stale = stale.collect::<Result<Vec<_>, _>>().map_err(|e| inner.storage(e))?;
        let result = (&inner.cursors,).transaction(|(cursors,)| {
            for key in &stale {
                cursors.remove(key)?;
            }
            cursors.insert(cursor_key.as_slice(), cursor_value.as_slice())?;
            Ok(())
        });
        inner.finish(result)
    }

    /// Remember how the latest sync of `tracker` went (replacing the previous record).
    pub fn record_sync(&self, tracker: &str, record: &SyncRecord) -> Result<(), MirrorError> {
        codec::check_name("tracker", tracker)?;
        let value = codec::encode_json(record).map_err(encode_error("sync record"))?;
        self.inner.syncs.insert(tracker, value).map(drop).map_err(|e| self.inner.storage(e))
    }

    /// How the latest sync of `tracker` went; `None` if it was never synced.
    pub fn last_sync(&self, tracker: &str) -> Result<Option<SyncRecord>, MirrorError> {
        let inner = &*self.inner;
        let raw = inner.syncs.get(tracker).map_err(|e| inner.storage(e))?;
        raw.map(|raw| codec::decode_json(&raw).map_err(|u| inner.corrupt("sync record", u))).transpose()
    }

    /// Of `trackers`, those the mirror never pulled (no sync record and no item): an audit of them
    /// would read as a clean backlog. A tracker whose last sync failed still has what it pulled before.
    pub fn never_synced<'a>(&self, trackers: impl IntoIterator<Item = &'a str>) -> Result<Vec<&'a str>, MirrorError> {
        let mut never = Vec::new();
        for tracker in trackers {
            if self.last_sync(tracker)?.is_none() && self.count(Some(tracker))? == 0 {
                never.push(tracker);
            }
        }
        Ok(never)
    }

    /// Every tracker with a sync record, with that record, ordered by tracker.
    pub(super) fn sync_records(&self) -> Result<Vec<(String, SyncRecord)>, MirrorError> {
        let inner = &*self.inner;
        inner
            .syncs
            .iter()
            .map(|entry| {
                let (key, raw) = entry.map_err(|e| inner.storage(e))?;
                let tracker = codec::first_part(&key).map_err(|u| inner.corrupt("sync record", u))?;
                let record = codec::decode_json(&raw).map_err(|u| inner.corrupt("sync record", u))?;
                Ok((tracker.to_string(), record))
            })
            .collect()
    }
}

impl Writing<'_> {
    /// Store one page of partition `index` of `scope`'s full pull with where the partition now stands,
    /// atomically.
    pub fn apply_partition_page(
        &self,
        tracker: &str,
        scope: &str,
        index: usize,
        items: &[Item],
        state: &PartitionState,
    ) -> Result<PageOutcome, MirrorError> {
        codec::check_name("tracker", tracker)?;
        codec::check_name("scope", scope)?;
        let value = codec::encode_json(state).map_err(encode_error("partition"))?;
        self.apply_page_at(tracker, items, &partition_key(tracker, scope, index), &value)
    }
}
