//! Durable records and append-only logs for other modules (the outbox, the audit log), without sled.
//!
//! A [`RecordStore`] is a namespace of JSON values under string keys with an atomic read-modify-write;
//! a [`LogStore`] is an append-only list of timestamped JSON entries in the order they were appended.
//! [`RecordStore::update_and_log`] changes a record and appends to a log in one transaction.

use std::cell::RefCell;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::transaction::{ConflictableTransactionError, Transactional, TransactionalTree};

use super::{Inner, Mirror, MirrorError, codec, encode_error};

/// A namespace of durable JSON records, from [`Mirror::records`]. Cloning is cheap.
#[derive(Clone)]
pub struct RecordStore {
    inner: Arc<Inner>,
    tree: sled::Tree,
}

/// An append-only log, from [`Mirror::log`]. Cloning is cheap.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
    tree: sled::Tree,
}

/// One entry of a [`LogStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry<T> {
    /// Increases with every append, across restarts (not contiguous).
    pub id: u64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    pub entry: T,
}

impl Mirror {
    /// The records of `namespace` (e.g. "outbox"); created on first use.
    pub fn records(&self, namespace: &str) -> Result<RecordStore, MirrorError> {
        Ok(RecordStore { inner: self.inner.clone(), tree: self.namespace_tree("records", namespace)? })
    }

    /// The log `namespace` (e.g. "audit"); created on first use.
    pub fn log(&self, namespace: &str) -> Result<LogStore, MirrorError> {
        Ok(LogStore { inner: self.inner.clone(), tree: self.namespace_tree("log", namespace)? })
    }

    /// Append `entry` to the log `namespace`; returns its id.
    pub fn append_log<T: Serialize>(&self, namespace: &str, entry: &T) -> Result<u64, MirrorError> {
        self.log(namespace)?.append(entry)
    }

    fn namespace_tree(&self, kind: &str, namespace: &str) -> Result<sled::Tree, MirrorError> {
        codec::check_name("namespace", namespace)?;
        self.inner.db.open_tree(format!("{kind}/{namespace}")).map_err(|e| self.inner.storage(e))
    }
}

impl RecordStore {
    /// Store `value` under `key`, replacing what was there.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), MirrorError> {
        let value = codec::encode_json(value).map_err(encode_error("record"))?;
        self.tree.insert(key, value).map(drop).map_err(|e| self.inner.storage(e))
    }

    /// The record under `key`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, MirrorError> {
        let raw = self.tree.get(key).map_err(|e| self.inner.storage(e))?;
        raw.map(|raw| codec::decode_json(&raw).map_err(|u| self.inner.corrupt("record", u))).transpose()
    }

    /// Remove the record under `key`; returns whether there was one.
    pub fn remove(&self, key: &str) -> Result<bool, MirrorError> {
        self.tree.remove(key).map(|old| old.is_some()).map_err(|e| self.inner.storage(e))
    }

    /// Replace the record under `key` by `f(current)` atomically: no other write to the mirror happens
    /// between the read and the write. `None` in means absent; `None` out removes the record. Returns what
    /// was stored.
    ///
    /// `f` runs while the mirror is locked for writing: it must be a pure function of its input and must
    /// not use the mirror (that would deadlock); the engine may call it more than once.
    pub fn update<T, F>(&self, key: &str, f: F) -> Result<Option<T>, MirrorError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> Option<T>,
    {
        let f = RefCell::new(f);
        let result = (&self.tree,).transaction(|(records,)| {
            let current = self.read_tx(records, key)?;
            let next = (f.borrow_mut())(current);
            self.write_tx(records, key, next.as_ref())?;
            Ok(next)
        });
        self.inner.finish(result)
    }

    /// Like [`update`](Self::update), and in the same transaction append the entry `f` returns, if any, to
    /// `log`: the record and its log entry are stored together or not at all. The same rules for `f` apply.
    pub fn update_and_log<T, L, F>(&self, key: &str, log: &LogStore, f: F) -> Result<Option<T>, MirrorError>
    where
        T: Serialize + DeserializeOwned,
        L: Serialize,
        F: FnMut(Option<T>) -> (Option<T>, Option<L>),
    {
        let f = RefCell::new(f);
        let now = Utc::now();
        let result = (&self.tree, &log.tree).transaction(|(records, entries)| {
            let current = self.read_tx(records, key)?;
            let (next, entry) = (f.borrow_mut())(current);
            self.write_tx(records, key, next.as_ref())?;
            if let Some(entry) = entry {
                let value = codec::encode_stamped(now, &entry)
                    .map_err(|e| ConflictableTransactionError::Abort(encode_error("log entry")(e)))?;
                entries.insert(&entries.generate_id()?.to_be_bytes(), value)?;
            }
            Ok(next)
        });
        self.inner.finish(result)
    }

    /// The records whose key starts with `prefix`, ordered by key. Streams from disk.
    pub fn scan_prefix<T: DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> impl Iterator<Item = Result<(String, T), MirrorError>> + use<T> {
        let inner = self.inner.clone();
        self.tree.scan_prefix(prefix).map(move |entry| {
            let (key, raw) = entry.map_err(|e| inner.storage(e))?;
            let key = String::from_utf8(key.to_vec())
                .map_err(|e| inner.corrupt("record key", codec::Undecodable::Invalid(e.to_string())))?;
            let value = codec::decode_json(&raw).map_err(|u| inner.corrupt("record", u))?;
            Ok((key, value))
        })
    }

    /// How many records the namespace holds.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    fn read_tx<T: DeserializeOwned>(
        &self,
        records: &TransactionalTree,
        key: &str,
    ) -> Result<Option<T>, ConflictableTransactionError<MirrorError>> {
        let raw = records.get(key)?;
        raw.map(|raw| codec::decode_json(&raw))
            .transpose()
            .map_err(|u| ConflictableTransactionError::Abort(self.inner.corrupt("record", u)))
    }

    fn write_tx<T: Serialize>(
        &self,
        records: &TransactionalTree,
        key: &str,
        value: Option<&T>,
    ) -> Result<(), ConflictableTransactionError<MirrorError>> {
        match value {
            Some(value) => {
                let value = codec::encode_json(value)
                    .map_err(|e| ConflictableTransactionError::Abort(encode_error("record")(e)))?;
                records.insert(key, value)?;
            }
            None => {
                records.remove(key)?;
            }
        }
        Ok(())
    }
}

impl LogStore {
    /// Append `entry`; returns its id.
    pub fn append<T: Serialize>(&self, entry: &T) -> Result<u64, MirrorError> {
        let value = codec::encode_stamped(Utc::now(), entry).map_err(encode_error("log entry"))?;
        let id = self.inner.db.generate_id().map_err(|e| self.inner.storage(e))?;
        self.tree.insert(id.to_be_bytes(), value).map_err(|e| self.inner.storage(e))?;
        Ok(id)
    }

    /// Every entry, oldest first. Streams from disk.
    pub fn entries<T: DeserializeOwned>(&self) -> impl Iterator<Item = Result<LogEntry<T>, MirrorError>> + use<T> {
        let inner = self.inner.clone();
        self.tree.iter().map(move |entry| {
            let (key, raw) = entry.map_err(|e| inner.storage(e))?;
            let id = codec::trailing_u64(&key).map_err(|u| inner.corrupt("log key", u))?;
            let (at, entry) = codec::decode_stamped(&raw).map_err(|u| inner.corrupt("log entry", u))?;
            Ok(LogEntry { id, at, entry })
        })
    }

    /// How many entries the log holds.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}
