//! Sync bookkeeping: per-scope cursors and the outcome of each tracker's last sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::Transactional;

use super::{Mirror, MirrorError, codec, encode_error};
use crate::api::connector::Cursor;

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
