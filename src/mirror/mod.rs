//! The local mirror: every tracker's items, their history, the sync cursors, and durable records for
//! the outbox, in one sled 0.34.7 database. This is the only module that knows sled.
//!
//! sled is beta by its own account, so the store is kept simple and defensive: every value starts with a
//! format byte (layouts in `codec.rs`), the database records its format version and a newer one is refused, there
//! is an export ([`Mirror::export_jsonl`]), and writers call [`Mirror::flush`] before reporting success.
//!
//! # Trees
//! | tree | key | value |
//! |------|-----|-------|
//! | `items` | tracker \0 key | the item, its revision, first seen, last changed |
//! | `history` | tracker \0 key \0 rev (u64 BE) | the item as it was at `rev`, kept when a new revision replaced it |
//! | `by_key` | lower-case key \0 tracker | the key as filed (an index for [`Mirror::find`]) |
//! | `cursors` | tracker \0 scope | the connector's [`Cursor`](crate::api::connector::Cursor) |
//! | `syncs` | tracker | the last [`SyncRecord`] |
//! | `meta` | `format` | the store format version (u64 BE) |
//! | `records/<ns>` | a caller's key | a caller's JSON value ([`RecordStore`]) |
//! | `log/<ns>` | a monotonic id (u64 BE) | a timestamped JSON entry ([`LogStore`]) |
//!
//! # Atomicity
//! [`Mirror::apply_page`] writes a page of items, their history and the scope's new cursor in one
//! multi-tree transaction: after a crash the cursor never points past an item that is not stored, so the
//! next sync resumes exactly where the stored items end. sled 0.34 runs transactions under a process-wide
//! lock, so they serialize with each other and with plain writes.

mod codec;
mod error;
mod items;
mod records;
mod stats;
mod sync;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{MirrorError, StorageError};
pub use items::{PageOutcome, Upsert, Versioned};
pub use records::{LogEntry, LogStore, RecordStore};
pub use stats::{Counts, Stats, TrackerStats};
pub use sync::SyncRecord;

use codec::Undecodable;

/// The store format this build writes and the newest it reads.
pub const FORMAT_VERSION: u64 = 1;

/// How much memory sled may use to cache pages. Its default, 1 GiB, lets a 200k-item mirror grow the
/// process past 400 MiB; at 32 MiB the benchmark process (benches/mirror.rs) peaks at
/// 115-145 MiB, and a larger cache bought little speed there.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

const FORMAT_KEY: &[u8] = b"format";

/// A handle to the mirror. Cloning is cheap and clones share the open database.
#[derive(Clone)]
pub struct Mirror {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    items: sled::Tree,
    history: sled::Tree,
    by_key: sled::Tree,
    cursors: sled::Tree,
    syncs: sled::Tree,
}

impl fmt::Debug for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mirror").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

/// How long `open` keeps retrying a held lock (see [`Mirror::open`]).
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(1500);

impl Mirror {
    /// Open the mirror at `path`, creating it (and missing parent directories) if it does not exist.
    ///
    /// Only one process can have a mirror open; a second gets [`MirrorError::Locked`]. A mirror written by
    /// a newer twotrack gives [`MirrorError::NewerFormat`].
    pub fn open(path: &Path) -> Result<Mirror, MirrorError> {
        let config = sled::Config::new().path(path).cache_capacity(CACHE_BYTES);
        Mirror::start(path.to_path_buf(), &config)
    }

    /// A mirror in a temporary location that is deleted when the last handle is dropped (for tests).
    pub fn temporary() -> Result<Mirror, MirrorError> {
        let config = sled::Config::new().temporary(true).cache_capacity(CACHE_BYTES);
        Mirror::start(config.get_path(), &config)
    }

    fn start(path: PathBuf, config: &sled::Config) -> Result<Mirror, MirrorError> {
        // A mirror this process just closed can hold its file lock for a moment, until sled's background
        // flusher exits: retry a lock error briefly before calling the mirror locked by someone else.
        let deadline = std::time::Instant::now() + LOCK_GRACE;
        let db = loop {
            match config.open().map_err(|e| open_error(&path, e)) {
                Err(MirrorError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other?,
            }
        };
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(&path, e));
        let meta = tree("meta")?;
        let inner = Inner {
            items: tree("items")?,
            history: tree("history")?,
            by_key: tree("by_key")?,
            cursors: tree("cursors")?,
            syncs: tree("syncs")?,
            db,
            path,
        };
        inner.check_format(&meta)?;
        Ok(Mirror { inner: Arc::new(inner) })
    }

    /// Where the mirror lives.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Write everything buffered to disk. Call before reporting that a sync or an apply succeeded.
    pub fn flush(&self) -> Result<(), MirrorError> {
        self.inner.db.flush().map(drop).map_err(|e| self.inner.storage(e))
    }

    /// The space the mirror takes on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, MirrorError> {
        self.inner.db.size_on_disk().map_err(|e| self.inner.storage(e))
    }
}

impl Inner {
    /// Record the format in a new store; refuse a store written by a newer build.
    fn check_format(&self, meta: &sled::Tree) -> Result<(), MirrorError> {
        match meta.get(FORMAT_KEY).map_err(|e| self.storage(e))? {
            None => {
                meta.insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes()).map_err(|e| self.storage(e))?;
                self.db.flush().map_err(|e| self.storage(e))?;
                Ok(())
            }
            Some(raw) => match <[u8; 8]>::try_from(raw.as_ref()).map(u64::from_be_bytes) {
                Ok(found) if found > FORMAT_VERSION => {
                    Err(MirrorError::NewerFormat { path: self.path.clone(), found, supported: FORMAT_VERSION })
                }
                Ok(found) if found >= 1 => Ok(()),
                _ => Err(self.corrupt("format version", Undecodable::Invalid(format!("{:?}", raw.as_ref())))),
            },
        }
    }

    fn storage(&self, source: sled::Error) -> MirrorError {
        MirrorError::Storage { path: self.path.clone(), source: StorageError(source) }
    }

    fn corrupt(&self, what: &'static str, why: Undecodable) -> MirrorError {
        match why {
            Undecodable::Newer(found) => MirrorError::NewerFormat {
                path: self.path.clone(),
                found: u64::from(found),
                supported: u64::from(codec::VALUE_FORMAT),
            },
            Undecodable::Invalid(detail) => MirrorError::Corrupt { path: self.path.clone(), what, detail },
        }
    }

    /// Map the outcome of a transaction whose closure aborts with a [`MirrorError`].
    fn finish<T>(&self, result: sled::transaction::TransactionResult<T, MirrorError>) -> Result<T, MirrorError> {
        result.map_err(|e| match e {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => self.storage(e),
        })
    }
}

/// sled reports a held lock as a generic I/O error; recognise it by its message (sled is pinned to 0.34.7).
fn open_error(path: &Path, source: sled::Error) -> MirrorError {
    match &source {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            MirrorError::Locked { path: path.to_path_buf() }
        }
        _ => MirrorError::Open { path: path.to_path_buf(), source: StorageError(source) },
    }
}

fn encode_error(what: &'static str) -> impl Fn(serde_json::Error) -> MirrorError {
    move |source| MirrorError::Encode { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_store_format_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror");
        {
            let db = sled::open(&path).unwrap();
            db.open_tree("meta").unwrap().insert(FORMAT_KEY, &(FORMAT_VERSION + 1).to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        let err = Mirror::open(&path).unwrap_err();
        assert!(matches!(err, MirrorError::NewerFormat { found: 2, supported: 1, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("newer twotrack") && text.contains(&path.display().to_string()), "{text}");
        let db = sled::open(&path).unwrap();
        let stored = db.open_tree("meta").unwrap().get(FORMAT_KEY).unwrap().unwrap();
        assert_eq!(stored.as_ref(), &(FORMAT_VERSION + 1).to_be_bytes());
    }

    #[test]
    fn a_new_store_records_its_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror");
        drop(Mirror::open(&path).unwrap());
        let db = sled::open(&path).unwrap();
        let stored = db.open_tree("meta").unwrap().get(FORMAT_KEY).unwrap().unwrap();
        assert_eq!(stored.as_ref(), &FORMAT_VERSION.to_be_bytes());
    }

    #[test]
    fn a_newer_value_format_is_refused() {
        let mirror = Mirror::temporary().unwrap();
        let item = crate::api::model::Item::new("jira", "A-1", "s");
        mirror.upsert_item(&item).unwrap();
        let key = codec::key(&[b"jira", b"A-1"]);
        let mut raw = mirror.inner.items.get(&key).unwrap().unwrap().to_vec();
        raw[0] = codec::VALUE_FORMAT + 1;
        mirror.inner.items.insert(&key, raw).unwrap();
        let err = mirror.get("jira", "A-1").unwrap_err();
        assert!(matches!(err, MirrorError::NewerFormat { found: 2, .. }), "{err:?}");
    }
}
