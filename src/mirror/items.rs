//! Items: the batch upsert with its cursor, single upserts, reads, history and export.

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sled::transaction::{
    ConflictableTransactionError, ConflictableTransactionResult, Transactional, TransactionalTree,
};

use super::codec::{self, ItemHeader};
use super::{Inner, Mirror, MirrorError, Writing, encode_error};
use crate::api::connector::Cursor;
use crate::api::model::Item;

/// What [`Writing::apply_page`] did with a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// Items the mirror had not seen before.
    pub new: usize,
    /// Items whose content differed from the stored revision (the old one went to the history).
    pub changed: usize,
    /// Items identical to the stored revision; nothing was written for them.
    pub unchanged: usize,
}

impl PageOutcome {
    fn count(&mut self, upsert: Upsert) {
        match upsert {
            Upsert::New => self.new += 1,
            Upsert::Changed => self.changed += 1,
            Upsert::Unchanged => self.unchanged += 1,
        }
    }
}

/// What one upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    New,
    Changed,
    Unchanged,
}

/// A stored item with the mirror's bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub item: Item,
    /// 1 when first stored, +1 each time its content changed.
    pub rev: u64,
    /// When this mirror first stored the item.
    pub first_seen: DateTime<Utc>,
    /// When this mirror last stored a changed revision.
    pub last_changed: DateTime<Utc>,
}

/// An item as the mirror stores it, read but not decoded ([`Mirror::stored`]).
pub struct Stored {
    raw: sled::IVec,
    inner: Arc<Inner>,
}

impl Stored {
    /// The item (a [`MirrorError`] names the mirror where it cannot be decoded).
    pub fn decode(self) -> Result<Item, MirrorError> {
        self.inner.decode_versioned(&self.raw).map(|v| v.item)
    }
}

impl crate::parallel::Decode<MirrorError> for Stored {
    fn decode(self) -> Result<Item, MirrorError> {
        Stored::decode(self)
    }
}

/// The transactional views an item write touches.
struct ItemTx<'a> {
    items: &'a TransactionalTree,
    history: &'a TransactionalTree,
}

impl Mirror {
    /// Store one item (e.g. after re-reading it from its tracker), without touching any cursor.
    pub fn upsert_item(&self, item: &Item) -> Result<Upsert, MirrorError> {
        codec::check_name("tracker", &item.tracker)?;
        let now = Utc::now();
        let inner = &*self.inner;
        let trees = (&inner.items, &inner.history, &inner.meta);
        let _turn = inner.turn();
        let result = trees.transaction(|(items, history, meta)| {
            let upsert = inner.stage_item(&ItemTx { items, history }, &item.tracker, item, now)?;
            inner.add_items(meta, u64::from(upsert == Upsert::New))?;
            Ok(upsert)
        });
        inner.finish(result)
    }

    /// The stored item `key` of `tracker`.
    pub fn get(&self, tracker: &str, key: &str) -> Result<Option<Item>, MirrorError> {
        Ok(self.get_versioned(tracker, key)?.map(|v| v.item))
    }

    /// The stored item `key` of `tracker` with its revision and timestamps.
    pub fn get_versioned(&self, tracker: &str, key: &str) -> Result<Option<Versioned>, MirrorError> {
        let inner = &*self.inner;
        let raw = inner.items.get(codec::key(&[tracker.as_bytes(), key.as_bytes()])).map_err(|e| inner.storage(e))?;
        raw.map(|raw| inner.decode_versioned(&raw)).transpose()
    }

    /// Every stored item whose key is `key` in any tracker (ordered by tracker), ignoring case where the
    /// key was filed in one case (`shop-12` finds `SHOP-12`; Jira and ServiceNow file every key in upper
    /// case): the key as given, then in upper and in lower case, looked up in each tracker.
    pub fn find(&self, key: &str) -> Result<Vec<Item>, MirrorError> {
        let mut spellings = vec![key.to_string(), key.to_uppercase(), key.to_lowercase()];
        spellings.dedup();
        spellings.retain(|s| !s.is_empty());
        let mut found = Vec::new();
        for tracker in self.trackers()? {
            for spelling in &spellings {
                if let Some(item) = self.get(&tracker, spelling)? {
                    found.push(item);
                    break;
                }
            }
        }
        Ok(found)
    }

    /// The trackers that have items stored, in order: one seek a tracker, not a scan of the items.
    pub fn trackers(&self) -> Result<Vec<String>, MirrorError> {
        let inner = &*self.inner;
        let mut trackers = Vec::new();
        let mut from = Vec::new();
        loop {
            let Some(next) = inner.guard(|| inner.items.range(from.as_slice()..).next())? else { break };
            let (key, _) = next.map_err(|e| inner.storage(e))?;
            let tracker = codec::first_part(&key).map_err(|u| inner.corrupt("item key", u))?;
            // Past every key of this tracker: its name, then the byte after the separator.
            from = codec::prefix(tracker);
            if let Some(last) = from.last_mut() {
                *last += 1;
            }
            trackers.push(tracker.to_string());
        }
        Ok(trackers)
    }

    /// The stored items of one tracker, or of all, ordered by tracker then key. Streams from disk.
    /// An item that cannot be read or decoded ends the stream with its error.
    pub fn items(&self, tracker: Option<&str>) -> impl Iterator<Item = Result<Item, MirrorError>> + use<> {
        let mut failed = false;
        self.stored(tracker).map_while(move |stored| {
            if failed {
                return None;
            }
            let item = stored.and_then(Stored::decode);
            failed = item.is_err();
            Some(item)
        })
    }

    /// [`Mirror::items`] not decoded yet: decoding is most of what reading an item costs, so a reader
    /// that hands items to workers hands these, and the workers decode them ([`Stored::decode`]).
    pub fn stored(&self, tracker: Option<&str>) -> impl Iterator<Item = Result<Stored, MirrorError>> + use<> {
        let inner = self.inner.clone();
        let iter = match tracker {
            Some(tracker) => inner.items.scan_prefix(codec::prefix(tracker)),
            None => inner.items.iter(),
        };
        let mut iter = iter.fuse();
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            // The engine panics on some damaged pages: that ends the stream with an error, not the process.
            let stored = match inner.guard(|| iter.next()) {
                Ok(None) => return None,
                Ok(Some(Ok((_, raw)))) => Ok(Stored { raw, inner: inner.clone() }),
                Ok(Some(Err(e))) => Err(inner.storage(e)),
                Err(damaged) => Err(damaged),
            };
            failed = stored.is_err();
            Some(stored)
        })
    }

    /// How many items the mirror holds in all, by the count it keeps (no item is read).
    pub fn stored_count(&self) -> Result<u64, MirrorError> {
        self.inner.stored_items()
    }

    /// How many items are stored for one tracker, or in all.
    pub fn count(&self, tracker: Option<&str>) -> Result<u64, MirrorError> {
        let inner = &*self.inner;
        let mut keys = match tracker {
            Some(tracker) => inner.items.scan_prefix(codec::prefix(tracker)).keys(),
            None => inner.items.iter().keys(),
        };
        keys.try_fold(0, |n, key| key.map(|_| n + 1)).map_err(|e| inner.storage(e))
    }

    /// Every revision of an item the mirror has seen, oldest first, the current one last.
    pub fn history(&self, tracker: &str, key: &str) -> Result<Vec<(u64, Item)>, MirrorError> {
        let inner = &*self.inner;
        let prefix = codec::key(&[tracker.as_bytes(), key.as_bytes(), b""]);
        let mut revisions = Vec::new();
        for entry in inner.history.scan_prefix(&prefix) {
            let (history_key, raw) = entry.map_err(|e| inner.storage(e))?;
            let rev = codec::trailing_u64(&history_key).map_err(|u| inner.corrupt("history key", u))?;
            let item = codec::history_body(&raw)
                .and_then(|body| body.decode())
                .map_err(|u| inner.corrupt("item revision", u))?;
            revisions.push((rev, item));
        }
        if let Some(current) = self.get_versioned(tracker, key)? {
            revisions.push((current.rev, current.item));
        }
        Ok(revisions)
    }

    /// Write the stored items of one tracker, or of all, to `out` as JSON Lines, in the mirror's order;
    /// returns how many. Items are decoded and written as JSON on every core
    /// ([`crate::parallel::map_in_order`]); the calling thread only writes the lines out.
    pub fn export_jsonl(&self, out: impl Write, tracker: Option<&str>) -> Result<u64, MirrorError> {
        let mut out = std::io::BufWriter::new(out);
        let mut written = 0;
        let line = |stored: Stored| {
            let line = stored.decode().and_then(|item| {
                let mut line = serde_json::to_vec(&item).map_err(encode_error("item"))?;
                line.push(b'\n');
                Ok(line)
            });
            Some(line)
        };
        crate::parallel::map_in_order(self.stored(tracker), crate::parallel::workers(), line, |line| {
            // A failed write is the output's failure (a closed pipe, a full disk), not the item's.
            out.write_all(&line?).map_err(MirrorError::Export)?;
            written += 1;
            Ok::<(), MirrorError>(())
        })?;
        out.flush().map_err(MirrorError::Export)?;
        Ok(written)
    }
}

impl Writing<'_> {
    /// Store one page of a pull of `tracker`'s `scope` and move the scope's cursor to `cursor`, atomically.
    ///
    /// Items identical to their stored revision write nothing; a changed item gets the next revision and
    /// its previous revision goes to the history. If any item is invalid (a key with NUL, an item of
    /// another tracker) nothing of the page is written and the cursor stays where it was.
    pub fn apply_page(
        &self,
        tracker: &str,
        scope: &str,
        items: &[Item],
        cursor: &Cursor,
    ) -> Result<PageOutcome, MirrorError> {
        codec::check_name("tracker", tracker)?;
        codec::check_name("scope", scope)?;
        let cursor_key = codec::key(&[tracker.as_bytes(), scope.as_bytes()]);
        let cursor_value = codec::encode_json(cursor).map_err(encode_error("cursor"))?;
        self.apply_page_at(tracker, items, &cursor_key, &cursor_value)
    }

    /// [`Writing::apply_page`] with the bookkeeping value `cursor_value` stored at `cursor_key` of the
    /// cursors tree (a scope's cursor, or a partition's progress).
    pub(super) fn apply_page_at(
        &self,
        tracker: &str,
        items: &[Item],
        cursor_key: &[u8],
        cursor_value: &[u8],
    ) -> Result<PageOutcome, MirrorError> {
        let now = Utc::now();
        let inner = &*self.mirror.inner;
        let trees = (&inner.items, &inner.history, &inner.cursors, &inner.meta);
        let result = trees.transaction(|(items_tx, history, cursors, meta)| {
            let tx = ItemTx { items: items_tx, history };
            let mut outcome = PageOutcome::default();
            for item in items {
                outcome.count(inner.stage_item(&tx, tracker, item, now)?);
            }
            if cursors.get(cursor_key)?.as_deref() != Some(cursor_value) {
                cursors.insert(cursor_key, cursor_value)?;
            }
            inner.add_items(meta, outcome.new as u64)?;
            Ok(outcome)
        });
        inner.finish(result)
    }
}

impl Inner {
    /// Stage the write of one item in a transaction; nothing is written when its content is unchanged.
    fn stage_item(
        &self,
        tx: &ItemTx<'_>,
        tracker: &str,
        item: &Item,
        now: DateTime<Utc>,
    ) -> ConflictableTransactionResult<Upsert, MirrorError> {
        let abort = ConflictableTransactionError::Abort;
        if item.tracker != tracker {
            let (key, expected, found) = (item.key.clone(), tracker.to_string(), item.tracker.clone());
            return Err(abort(MirrorError::WrongTracker { key, expected, found }));
        }
        codec::check_name("item key", &item.key).map_err(abort)?;
        let body = codec::encode_body(item).map_err(|e| abort(encode_error("item")(e)))?;
        let key = codec::key(&[tracker.as_bytes(), item.key.as_bytes()]);
        let Some(stored) = tx.items.get(&key)? else {
            let header = ItemHeader { rev: 1, first_seen: now, last_changed: now };
            tx.items.insert(key, codec::encode_item(&header, &body))?;
            return Ok(Upsert::New);
        };
        let (old, old_body) = codec::split_item(&stored).map_err(|u| abort(self.corrupt("item", u)))?;
        if old_body.is(&body) {
            return Ok(Upsert::Unchanged);
        }
        if old_body.is_older() && old_body.decode().is_ok_and(|old_item| old_item == *item) {
            // Stored by an older build in an older format: the same item, now in this build's format.
            tx.items.insert(key, codec::encode_item(&old, &body))?;
            return Ok(Upsert::Unchanged);
        }
        let history_key = codec::key(&[tracker.as_bytes(), item.key.as_bytes(), &old.rev.to_be_bytes()]);
        tx.history.insert(history_key, codec::encode_history(old_body))?;
        let header = ItemHeader { rev: old.rev + 1, first_seen: old.first_seen, last_changed: now };
        tx.items.insert(key, codec::encode_item(&header, &body))?;
        Ok(Upsert::Changed)
    }

    fn decode_versioned(&self, raw: &[u8]) -> Result<Versioned, MirrorError> {
        let (header, body) = codec::split_item(raw).map_err(|u| self.corrupt("item", u))?;
        let item = body.decode().map_err(|u| self.corrupt("item", u))?;
        Ok(Versioned { item, rev: header.rev, first_seen: header.first_seen, last_changed: header.last_changed })
    }
}
