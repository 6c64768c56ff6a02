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
//! | `cursors` | tracker \0 scope | the connector's [`Cursor`](crate::api::connector::Cursor) |
//! | `syncs` | tracker | the last [`SyncRecord`] |
//! | `meta` | `format` | the store format version (u64 BE) |
//! | `meta` | `items` | how many items `items` holds (u64 BE), kept in the transactions that add them |
//! | `records/<ns>` | a caller's key | a caller's JSON value ([`RecordStore`]) |
//! | `log/<ns>` | a monotonic id (u64 BE) | a timestamped JSON entry ([`LogStore`]) |
//!
//! # Damage
//! sled recovers a damaged log by keeping what it can read, silently, and panics on some damage. So
//! [`Mirror::flush`] also writes, beside the database, how many items it had made durable
//! (`twotrack.flushed`); a mirror that opens holding fewer is damaged, and so is one on which sled
//! panics ([`MirrorError::Damaged`], caught where sled is called). Items are never deleted, so the count
//! only grows; a crash after a flush leaves at least as many items as that flush recorded. While a
//! process has the mirror open, `twotrack.open` says which; the last handle removes it after a final
//! flush, so a marker found at open tells that the previous process was killed or crashed
//! ([`Mirror::previous_close`], reported by `mirror verify`).
//!
//! # Atomicity
//! [`Writing::apply_page`] (in a turn at writing, [`Mirror::writing`]) writes a page of items, their
//! history and the scope's new cursor in one multi-tree transaction: after a crash the cursor never points
//! past an item that is not stored, so the next sync resumes exactly where the stored items end. sled 0.34
//! runs transactions under a process-wide lock, so they serialize with each other and with plain writes.

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
pub use items::{PageOutcome, Stored, Upsert, Versioned};
pub use records::{LogEntry, LogStore, RecordStore};
pub use stats::{Counts, Stats, TrackerStats};
pub use sync::{PartitionPlan, PartitionState, SyncRecord};

use codec::Undecodable;

/// The store format this build writes and the newest it reads. Format 1 also kept an index of every key
/// in lower case (`by_key`), a second tree write for every new item; format 2 has none (a write of a new
/// item costs about half as much) and [`Mirror::find`] looks keys up in `items`. Format 3 writes items
/// in a compact binary form (value format 2, see `codec.rs`), which an older build cannot read; items
/// stored in JSON before stay readable and are rewritten when a sync reads them again unchanged. A
/// format 1 store is upgraded when it opens (its index is dropped), a format 2 store by recording 3.
pub const FORMAT_VERSION: u64 = 3;
/// The tree format 1 kept its key index in.
const FORMAT_1_KEY_INDEX: &str = "by_key";

/// How much memory sled may use to cache pages. Its default, 1 GiB, lets a 200k-item mirror grow the
/// process past 400 MiB; at 32 MiB the benchmark process (benches/mirror.rs) peaked at 115-145 MiB, and
/// a larger cache bought little speed there. 24 MiB since the binary allocates with mimalloc: the first
/// sync of 100,000 items per tracker peaked at 154-158 MB with 32 MiB, 143.5-143.8 MB with 24.
const CACHE_BYTES: u64 = 24 * 1024 * 1024;

const FORMAT_KEY: &[u8] = b"format";
const ITEMS_KEY: &[u8] = b"items";
/// Beside the database: how many items the last flush made durable.
const FLUSHED_FILE: &str = "twotrack.flushed";
/// Beside the database while a process has it open (which process, since when); removed when the last
/// handle closes after a final flush. Found at open, it says the previous process did not close the
/// mirror (it was killed or crashed).
const OPEN_FILE: &str = "twotrack.open";

/// What [`Mirror::verify`] read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Items read and decoded.
    pub items: u64,
    /// The count the store keeps.
    pub counted: u64,
    /// The count at the last flush, where one was recorded.
    pub flushed: Option<u64>,
    /// Earlier revisions read and decoded.
    pub revisions: u64,
}

/// How the process before this one left the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousClose {
    /// Closed after a final flush (or this process created the mirror).
    Clean,
    /// Still marked open: that process was killed or crashed (what the marker said: pid, since when).
    Unclean(String),
}

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
    cursors: sled::Tree,
    syncs: sled::Tree,
    meta: sled::Tree,
    /// The count last written to [`FLUSHED_FILE`] (`u64::MAX`: none yet), held while writing it (flushes
    /// of trackers syncing concurrently take turns): a flush that added no item does not rewrite it.
    flushed_written: std::sync::Mutex<u64>,
    /// Held by every write of items ([`Writing::apply_page`], [`Mirror::upsert_item`]): writers take turns.
    /// Two sled transactions at once (two trackers' pages in one sync) wait for each other on sled's one
    /// concurrency lock at every read and write they make; measured in the pull benchmark, a Jira page's
    /// commit took 9.9 ms with the ServiceNow writer beside it and 3.6 ms taking turns. The turns are
    /// fair ([`Turn`]): a writer with a queue of large pages does not keep the others waiting.
    writes: parking_lot::Mutex<()>,
    /// Whether this process keeps [`OPEN_FILE`] (not for temporary mirrors).
    marked: bool,
    /// How the previous process left the mirror.
    previous: PreviousClose,
}

impl Drop for Inner {
    /// The last handle: flush, then say the mirror was closed cleanly (only if the flush succeeded).
    fn drop(&mut self) {
        if self.marked && self.db.flush().is_ok() {
            let _ = std::fs::remove_file(self.path.join(OPEN_FILE));
        }
    }
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
        Mirror::start(path.to_path_buf(), &config, true)
    }

    /// A mirror in a temporary location that is deleted when the last handle is dropped (for tests).
    pub fn temporary() -> Result<Mirror, MirrorError> {
        let config = sled::Config::new().temporary(true).cache_capacity(CACHE_BYTES);
        Mirror::start(config.get_path(), &config, false)
    }

    /// Open the mirror at `path`, which must exist: for commands that only read it (an audit of a
    /// mirror that was never there would read as a clean backlog).
    pub fn open_existing(path: &Path) -> Result<Mirror, MirrorError> {
        if !path.join("db").is_file() {
            return Err(MirrorError::Missing { path: path.to_path_buf() });
        }
        Mirror::open(path)
    }

    fn start(path: PathBuf, config: &sled::Config, marked: bool) -> Result<Mirror, MirrorError> {
        // sled panics on some damaged files; that is a damaged mirror, not a crash.
        let damaged = |detail: String| MirrorError::Damaged { path: path.clone(), detail };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Mirror::start_unguarded(path.clone(), config, marked)))
            .unwrap_or_else(|panic| Err(damaged(panic_message(&*panic))))
    }

    fn start_unguarded(path: PathBuf, config: &sled::Config, marked: bool) -> Result<Mirror, MirrorError> {
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
        let mut inner = Inner {
            items: tree("items")?,
            history: tree("history")?,
            cursors: tree("cursors")?,
            syncs: tree("syncs")?,
            meta: tree("meta")?,
            flushed_written: std::sync::Mutex::new(u64::MAX),
            writes: parking_lot::Mutex::new(()),
            marked: false,
            previous: PreviousClose::Clean,
            db,
            path,
        };
        inner.check_format()?;
        inner.check_items()?;
        if marked {
            inner.mark_open()?;
        }
        Ok(Mirror { inner: Arc::new(inner) })
    }

    /// A turn at writing items: the pages stored through it, one transaction each, do not take turns with
    /// the other writers between them. A sync's writer stores what its streams have queued in one turn,
    /// so a tracker's small pages are not held to one per large page of another tracker.
    pub fn writing(&self) -> Writing<'_> {
        Writing { mirror: self, _turn: self.inner.turn() }
    }

    /// Where the mirror lives.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Write everything buffered to disk. Call before reporting that a sync or an apply succeeded.
    pub fn flush(&self) -> Result<(), MirrorError> {
        let inner = &*self.inner;
        // Read before the flush: every item counted is then durable once it returns.
        let items = inner.stored_items()?;
        inner.db.flush().map_err(|e| inner.storage(e))?;
        inner.record_flushed(items)
    }

    /// Read every item and earlier revision back, decoding each, and check the items against the
    /// count the store keeps and the count of the last flush. A damaged store is [`MirrorError::Damaged`]
    /// (or the [`MirrorError::Corrupt`] value that cannot be read).
    pub fn verify(&self) -> Result<Verified, MirrorError> {
        let inner = &*self.inner;
        let mut items = 0u64;
        for item in self.items(None) {
            item?;
            items += 1;
        }
        let mut revisions = 0u64;
        let mut history = inner.history.iter();
        while let Some(entry) = inner.guard(|| history.next())? {
            let (_, raw) = entry.map_err(|e| inner.storage(e))?;
            codec::history_body(&raw).and_then(|body| body.decode()).map_err(|u| inner.corrupt("item revision", u))?;
            revisions += 1;
        }
        let counted = inner.stored_items()?;
        let flushed = inner.flushed();
        if items != counted || flushed.is_some_and(|f| items < f) {
            return Err(MirrorError::Damaged {
                path: inner.path.clone(),
                detail: format!(
                    "{items} items read back, but it counts {counted}{}",
                    flushed.map_or_else(String::new, |f| format!(" and {f} were written to disk"))
                ),
            });
        }
        Ok(Verified { items, counted, flushed, revisions })
    }

    /// How the process before this one left the mirror (see [`PreviousClose`]).
    pub fn previous_close(&self) -> &PreviousClose {
        &self.inner.previous
    }

    /// The space the mirror takes on disk, in bytes.
    pub fn size_on_disk(&self) -> Result<u64, MirrorError> {
        self.inner.db.size_on_disk().map_err(|e| self.inner.storage(e))
    }
}

impl Inner {
    /// Record the format in a new store, upgrade an older one, refuse a store written by a newer build.
    fn check_format(&self) -> Result<(), MirrorError> {
        let meta = &self.meta;
        match meta.get(FORMAT_KEY).map_err(|e| self.storage(e))? {
            None => self.record_format(),
            Some(raw) => match <[u8; 8]>::try_from(raw.as_ref()).map(u64::from_be_bytes) {
                Ok(found) if found > FORMAT_VERSION => {
                    Err(MirrorError::NewerFormat { path: self.path.clone(), found, supported: FORMAT_VERSION })
                }
                Ok(FORMAT_VERSION) => Ok(()),
                Ok(older @ (1 | 2)) => {
                    if older == 1 {
                        // Only the index goes; if this is interrupted, the next open drops what is left of it.
                        self.db.drop_tree(FORMAT_1_KEY_INDEX).map_err(|e| self.storage(e))?;
                    }
                    // Every value says its own format: items stored in JSON stay readable as they are.
                    tracing::info!(path = %self.path.display(), "mirror upgraded to store format {FORMAT_VERSION}");
                    self.record_format()
                }
                _ => Err(self.corrupt("format version", Undecodable::Invalid(format!("{:?}", raw.as_ref())))),
            },
        }
    }

    fn record_format(&self) -> Result<(), MirrorError> {
        self.meta.insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes()).map_err(|e| self.storage(e))?;
        self.db.flush().map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// Read how the previous process left the mirror, then mark it open by this one.
    fn mark_open(&mut self) -> Result<(), MirrorError> {
        let marker = self.path.join(OPEN_FILE);
        if let Ok(text) = std::fs::read_to_string(&marker) {
            self.previous = PreviousClose::Unclean(text.trim().to_string());
            tracing::warn!(
                path = %self.path.display(),
                previous = %text.trim(),
                "the mirror was not closed by the process that used it last (killed or crashed); what it had flushed \
                 is kept, and `twotrack mirror verify` checks the rest"
            );
        }
        let stamp = format!("pid {} since {}\n", std::process::id(), chrono::Utc::now().to_rfc3339());
        std::fs::write(&marker, stamp)
            .map_err(|e| MirrorError::Storage { path: self.path.clone(), source: StorageError(sled::Error::Io(e)) })?;
        self.marked = true;
        Ok(())
    }

    /// Count the items of a store written before the count was kept (once), and compare the count
    /// with what the last flush made durable: fewer means the store lost items it had written.
    fn check_items(&self) -> Result<(), MirrorError> {
        if self.meta.get(ITEMS_KEY).map_err(|e| self.storage(e))?.is_none() {
            let n = self.items.iter().keys().try_fold(0u64, |n, k| k.map(|_| n + 1)).map_err(|e| self.storage(e))?;
            self.meta.insert(ITEMS_KEY, &n.to_be_bytes()).map_err(|e| self.storage(e))?;
        }
        let stored = self.stored_items()?;
        let flushed = self.flushed();
        if let Some(n) = flushed {
            *self.flushed_written.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = n;
        }
        match flushed {
            Some(flushed) if stored < flushed => Err(MirrorError::Damaged {
                path: self.path.clone(),
                detail: format!("it holds {stored} items, but {flushed} had been written to disk"),
            }),
            _ => Ok(()),
        }
    }

    /// How many items the last flush made durable, as recorded beside the database.
    fn flushed(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.path.join(FLUSHED_FILE)).ok()?;
        text.trim().strip_prefix("items ").and_then(|n| n.parse::<u64>().ok())
    }

    /// How many items the store holds, by its count.
    fn stored_items(&self) -> Result<u64, MirrorError> {
        match self.meta.get(ITEMS_KEY).map_err(|e| self.storage(e))? {
            None => Ok(0),
            Some(raw) => self.item_count(&raw),
        }
    }

    /// A stored item count (u64 BE).
    fn item_count(&self, raw: &[u8]) -> Result<u64, MirrorError> {
        <[u8; 8]>::try_from(raw)
            .map(u64::from_be_bytes)
            .map_err(|_| self.corrupt("item count", Undecodable::Invalid(format!("{raw:?}"))))
    }

    /// Add `n` new items to the count, inside the transaction that stores them.
    fn add_items(
        &self,
        meta: &sled::transaction::TransactionalTree,
        n: u64,
    ) -> sled::transaction::ConflictableTransactionResult<(), MirrorError> {
        if n == 0 {
            return Ok(());
        }
        let count = match meta.get(ITEMS_KEY)? {
            None => 0,
            Some(raw) => self.item_count(&raw).map_err(sled::transaction::ConflictableTransactionError::Abort)?,
        };
        meta.insert(ITEMS_KEY, &(count + n).to_be_bytes())?;
        Ok(())
    }

    /// Write how many items are durable beside the database (a temporary file renamed over the old).
    fn record_flushed(&self, items: u64) -> Result<(), MirrorError> {
        let mut written = self.flushed_written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another flush may have recorded more meanwhile; the record only grows.
        if *written != u64::MAX && *written >= items {
            return Ok(());
        }
        let file = self.path.join(FLUSHED_FILE);
        let temporary = self.path.join(format!("{FLUSHED_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&temporary)?;
            std::io::Write::write_all(&mut f, format!("items {items}\n").as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&temporary, &file)
        };
        write()
            .map_err(|e| MirrorError::Storage { path: self.path.clone(), source: StorageError(sled::Error::Io(e)) })?;
        *written = items;
        Ok(())
    }

    /// This writer's turn at [`Inner::writes`], until the value is dropped.
    fn turn(&self) -> Turn<'_> {
        Turn(Some(self.writes.lock()))
    }

    /// Run a call into sled, turning its panic on a damaged page into [`MirrorError::Damaged`].
    fn guard<T>(&self, call: impl FnOnce() -> T) -> Result<T, MirrorError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(call))
            .map_err(|panic| MirrorError::Damaged { path: self.path.clone(), detail: panic_message(&*panic) })
    }

    fn storage(&self, source: sled::Error) -> MirrorError {
        match source {
            sled::Error::Corruption { .. } => MirrorError::Damaged {
                path: self.path.clone(),
                detail: "the storage engine found corrupted data".into(),
            },
            source => MirrorError::Storage { path: self.path.clone(), source: StorageError(source) },
        }
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

/// A turn at writing items ([`Mirror::writing`]); the other writers wait until it is dropped.
pub struct Writing<'m> {
    mirror: &'m Mirror,
    _turn: Turn<'m>,
}

/// A turn at writing items. Ending it hands the lock straight to the writer that has waited longest: an
/// unfair lock goes back to the thread that just released it, and a tracker whose writer has many pages
/// queued (ServiceNow's 500 records a page) would write page after page while the other waits, its
/// streams stalled behind their commits.
struct Turn<'a>(Option<parking_lot::MutexGuard<'a, ()>>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.0.take() {
            parking_lot::MutexGuard::unlock_fair(guard);
        }
    }
}

/// What a caught panic said.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the storage engine failed".to_string());
    format!("the storage engine failed reading it ({text})")
}

/// Keep the panics of the storage engine off stderr: where sled panics on a damaged file, the caller
/// catches it and reports a damaged mirror with what to do; the raw panic would only confuse. Every
/// other panic is reported as before. For binaries; call once, first thing.
pub fn quiet_storage_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.location().is_some_and(|l| l.file().contains("/sled-")) {
            return;
        }
        default(info);
    }));
}

/// sled reports a held lock as a generic I/O error; recognise it by its message (sled is pinned to 0.34.7).
fn open_error(path: &Path, source: sled::Error) -> MirrorError {
    match &source {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            MirrorError::Locked { path: path.to_path_buf() }
        }
        sled::Error::Corruption { .. } => {
            MirrorError::Damaged { path: path.to_path_buf(), detail: "the storage engine found corrupted data".into() }
        }
        _ => MirrorError::Open { path: path.to_path_buf(), source: StorageError(source) },
    }
}

fn encode_error<E: Into<Box<dyn std::error::Error + Send + Sync>>>(what: &'static str) -> impl Fn(E) -> MirrorError {
    move |source| MirrorError::Encode { what, source: source.into() }
}

#[cfg(test)]
impl Mirror {
    /// Overwrite the stored value of `tracker`'s item `key` with bytes no build can decode (an item
    /// half-written by hand, or a disk's bit rot sled's checksums let through): for tests of readers.
    pub(crate) fn damage_item_for_test(&self, tracker: &str, key: &str) {
        let key = codec::key(&[tracker.as_bytes(), key.as_bytes()]);
        self.inner.items.insert(key, vec![codec::VALUE_FORMAT, 0, 0, 0]).expect("a test mirror takes the write");
    }
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
        assert!(matches!(err, MirrorError::NewerFormat { found: 4, supported: 3, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("newer twotrack") && text.contains(&path.display().to_string()), "{text}");
        let db = sled::open(&path).unwrap();
        let stored = db.open_tree("meta").unwrap().get(FORMAT_KEY).unwrap().unwrap();
        assert_eq!(stored.as_ref(), &(FORMAT_VERSION + 1).to_be_bytes());
    }

    /// A store of format 2 kept items as JSON (value format 1): it opens as format 3, its items and their
    /// history read as they are, an item synced again unchanged is rewritten in the compact form (the same
    /// revision, no history), and a changed one keeps its JSON revision in the history.
    #[test]
    fn a_format_2_store_with_json_items_is_read_and_rewritten_as_synced() {
        use crate::api::model::Item;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror");
        let (a, mut b) = (Item::new("jira", "A-1", "first"), Item::new("jira", "A-2", "second"));
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let json_value = |rev: u64, item: &Item| {
            let mut bytes = codec::encode_item(&codec::ItemHeader { rev, first_seen: at, last_changed: at }, b"");
            bytes[0] = 1;
            bytes.extend_from_slice(&serde_json::to_vec(item).unwrap());
            bytes
        };
        {
            let db = sled::open(&path).unwrap();
            db.open_tree("meta").unwrap().insert(FORMAT_KEY, &2u64.to_be_bytes()).unwrap();
            let items = db.open_tree("items").unwrap();
            items.insert(codec::key(&[b"jira", b"A-1"]), json_value(1, &a)).unwrap();
            items.insert(codec::key(&[b"jira", b"A-2"]), json_value(2, &b)).unwrap();
            db.open_tree("meta").unwrap().insert(ITEMS_KEY, &2u64.to_be_bytes()).unwrap();
            let old = Item::new("jira", "A-2", "second, as first filed");
            let history = [&[1u8][..], &serde_json::to_vec(&old).unwrap()].concat();
            db.open_tree("history")
                .unwrap()
                .insert(codec::key(&[b"jira", b"A-2", &1u64.to_be_bytes()]), history)
                .unwrap();
            db.flush().unwrap();
        }
        let mirror = Mirror::open(&path).unwrap();
        let format = mirror.inner.meta.get(FORMAT_KEY).unwrap().unwrap();
        assert_eq!(format.as_ref(), &FORMAT_VERSION.to_be_bytes());
        assert_eq!(mirror.get("jira", "A-1").unwrap(), Some(a.clone()));
        assert_eq!(mirror.history("jira", "A-2").unwrap().len(), 2);
        mirror.verify().unwrap();

        let raw = |key: &[u8]| mirror.inner.items.get(codec::key(&[b"jira", key])).unwrap().unwrap();
        assert_eq!(raw(b"A-1")[0], 1);
        assert_eq!(mirror.upsert_item(&a).unwrap(), Upsert::Unchanged);
        assert_eq!(raw(b"A-1")[0], codec::VALUE_FORMAT, "rewritten in the compact form");
        let v = mirror.get_versioned("jira", "A-1").unwrap().unwrap();
        assert_eq!((v.item, v.rev, v.last_changed), (a.clone(), 1, at));
        assert_eq!(mirror.upsert_item(&a).unwrap(), Upsert::Unchanged);

        b.summary = "second, changed".into();
        assert_eq!(mirror.upsert_item(&b).unwrap(), Upsert::Changed);
        let revisions = mirror.history("jira", "A-2").unwrap();
        let revs: Vec<(u64, &str)> = revisions.iter().map(|(rev, item)| (*rev, item.summary.as_str())).collect();
        assert_eq!(revs, [(1, "second, as first filed"), (2, "second"), (3, "second, changed")]);
        mirror.verify().unwrap();
    }

    #[test]
    fn a_new_store_records_its_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror");
        drop(Mirror::open(&path).unwrap());
        // The mirror just closed can hold its file lock until sled's background flusher exits (as
        // `Mirror::open` allows for): poll for the lock, with a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let db = loop {
            match sled::open(&path) {
                Ok(db) => break db,
                Err(e) if std::time::Instant::now() < deadline => {
                    assert!(e.to_string().contains("could not acquire lock"), "not a held lock: {e}");
                    std::thread::yield_now();
                }
                Err(e) => panic!("the mirror's lock is still held after 10 s: {e}"),
            }
        };
        let stored = db.open_tree("meta").unwrap().get(FORMAT_KEY).unwrap().unwrap();
        assert_eq!(stored.as_ref(), &FORMAT_VERSION.to_be_bytes());
    }

    /// Pages stored in one turn are each all or nothing, as in turns of their own; another writer waits
    /// for the turn to end.
    #[test]
    fn pages_stored_in_one_turn_are_each_atomic_and_other_writers_wait() {
        use crate::api::connector::Cursor;
        use crate::api::model::Item;
        let mirror = Mirror::temporary().unwrap();
        let cursor = |second: i64| Cursor { since: chrono::DateTime::from_timestamp(second, 0), ..Cursor::default() };
        let writing = mirror.writing();
        writing.apply_page("jira", "all", &[Item::new("jira", "A-1", "s")], &cursor(1)).unwrap();
        let bad = [Item::new("jira", "A-2", "s"), Item::new("jira", "A\u{0}3", "s")];
        assert!(writing.apply_page("jira", "all", &bad, &cursor(2)).is_err());
        writing.apply_page("jira", "all", &[Item::new("jira", "A-4", "s")], &cursor(4)).unwrap();

        let (said, heard) = std::sync::mpsc::channel();
        std::thread::scope(|threads| {
            let other = mirror.clone();
            threads.spawn(move || {
                let stored = other.upsert_item(&Item::new("jira", "A-5", "s"));
                let _ = said.send(stored.is_ok());
            });
            // It cannot store while the turn lasts (an early answer would be the bug; a late one proves nothing).
            assert!(heard.recv_timeout(std::time::Duration::from_millis(50)).is_err(), "wrote during the turn");
            drop(writing);
            assert_eq!(heard.recv_timeout(std::time::Duration::from_secs(30)), Ok(true), "stored after the turn");
        });
        let keys: Vec<String> = mirror.items(None).map(|i| i.unwrap().key).collect();
        assert_eq!(keys, ["A-1", "A-4", "A-5"], "the failed page left nothing");
        assert_eq!(mirror.cursor("jira", "all").unwrap(), Some(cursor(4)));
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
        assert!(matches!(err, MirrorError::NewerFormat { found: 3, .. }), "{err:?}");
    }

    #[test]
    fn a_stored_item_is_decoded_where_asked_and_a_damaged_one_is_an_error_there() {
        let mirror = Mirror::temporary().unwrap();
        for key in ["A-1", "A-2", "A-3"] {
            mirror.upsert_item(&crate::api::model::Item::new("jira", key, "s")).unwrap();
        }
        mirror.damage_item_for_test("jira", "A-2");
        // Reading hands every value on; decoding each tells which is damaged.
        let stored: Vec<Stored> = mirror.stored(Some("jira")).collect::<Result<_, _>>().unwrap();
        let decoded: Vec<Result<crate::api::model::Item, MirrorError>> =
            stored.into_iter().map(Stored::decode).collect();
        assert_eq!(decoded[0].as_ref().unwrap().key, "A-1");
        assert!(matches!(&decoded[1], Err(MirrorError::Corrupt { what: "item", .. })), "{:?}", decoded[1]);
        assert_eq!(decoded[2].as_ref().unwrap().key, "A-3");
        // `items` decodes as it reads: the damaged item ends the stream with its error.
        let items: Vec<_> = mirror.items(Some("jira")).collect();
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }
}
