//! Byte layouts of keys and values.
//!
//! Keys join their parts with a NUL byte (`tracker \0 key`), so names may not contain NUL; they sort by
//! tracker, then key. Every value starts with a one-byte format version ([`VALUE_FORMAT`]); a reader
//! refuses a newer version rather than misreading it. After the version byte:
//!
//! | tree | value |
//! |------|-------|
//! | items | rev (u64 BE), first seen and last changed (i64 BE microseconds), then the item ([`ItemBody`]) |
//! | history | the superseded item ([`ItemBody`]) |
//! | cursors, syncs, records | JSON |
//! | logs | appended at (i64 BE microseconds), then JSON |
//!
//! Value format 1 kept items as JSON; format 2 keeps them in a compact binary form (postcard, the
//! fields in a fixed order without their names, times as seconds and nanoseconds): about two thirds
//! of the bytes, and decoding it costs a fraction of parsing JSON, which was most of what reading an
//! item cost. Both are read; items are written in format 2, the other values are JSON in either.
//! The item comes last and alone so that "did the content change?" is a byte comparison: encoding an
//! [`Item`] is deterministic (fixed field order, ordered maps).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::MirrorError;
use crate::api::model::Item;

/// The version byte at the start of every value this build writes, and the newest it reads.
pub(super) const VALUE_FORMAT: u8 = 2;
/// The value format that kept items as JSON.
const JSON_ITEMS: u8 = 1;

const SEP: u8 = 0;

/// Why a stored value could not be read; the caller adds the path and what was being read.
#[derive(Debug)]
pub(super) enum Undecodable {
    Newer(u8),
    Invalid(String),
}

/// Check that `value` can be one part of a key.
pub(super) fn check_name(what: &'static str, value: &str) -> Result<(), MirrorError> {
    if value.is_empty() || value.as_bytes().contains(&SEP) {
        return Err(MirrorError::InvalidName { what, value: value.to_string() });
    }
    Ok(())
}

/// `parts[0] \0 parts[1] \0 ...`
pub(super) fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        out.extend_from_slice(part);
    }
    out
}

/// `part \0`: the prefix of every key whose first part is `part`.
pub(super) fn prefix(part: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(part.len() + 1);
    out.extend_from_slice(part.as_bytes());
    out.push(SEP);
    out
}

/// The first part of a key, up to the first NUL.
pub(super) fn first_part(key: &[u8]) -> Result<&str, Undecodable> {
    let end = key.iter().position(|&b| b == SEP).unwrap_or(key.len());
    std::str::from_utf8(&key[..end]).map_err(|e| Undecodable::Invalid(format!("key is not UTF-8: {e}")))
}

/// The last 8 bytes of a key as a big-endian u64.
pub(super) fn trailing_u64(key: &[u8]) -> Result<u64, Undecodable> {
    key.len()
        .checked_sub(8)
        .and_then(|start| key[start..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Undecodable::Invalid("key too short".into()))
}

/// The payload after the version byte.
pub(super) fn body(bytes: &[u8]) -> Result<&[u8], Undecodable> {
    versioned(bytes).map(|(_, rest)| rest)
}

/// The version byte and the payload after it.
fn versioned(bytes: &[u8]) -> Result<(u8, &[u8]), Undecodable> {
    match bytes.split_first() {
        Some((&v, rest)) if (JSON_ITEMS..=VALUE_FORMAT).contains(&v) => Ok((v, rest)),
        Some((&v, _)) if v > VALUE_FORMAT => Err(Undecodable::Newer(v)),
        Some((&v, _)) => Err(Undecodable::Invalid(format!("unknown value format {v}"))),
        None => Err(Undecodable::Invalid("empty value".into())),
    }
}

/// Version byte + JSON.
pub(super) fn encode_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = vec![VALUE_FORMAT];
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

pub(super) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Undecodable> {
    json(body(bytes)?)
}

pub(super) fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Undecodable> {
    serde_json::from_slice(bytes).map_err(|e| Undecodable::Invalid(e.to_string()))
}

/// Version byte + a timestamp + JSON (log entries).
pub(super) fn encode_stamped<T: Serialize + ?Sized>(
    at: DateTime<Utc>,
    value: &T,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = vec![VALUE_FORMAT];
    out.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    serde_json::to_writer(&mut out, value)?;
    Ok(out)
}

pub(super) fn decode_stamped<T: DeserializeOwned>(bytes: &[u8]) -> Result<(DateTime<Utc>, T), Undecodable> {
    let (at, rest) = take_time(body(bytes)?)?;
    Ok((at, json(rest)?))
}

/// What the items tree keeps next to the item itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ItemHeader {
    pub rev: u64,
    pub first_seen: DateTime<Utc>,
    pub last_changed: DateTime<Utc>,
}

/// A stored item's bytes, in the value format they were written in: compared as they are (did the
/// content change?), decoded only when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ItemBody<'a> {
    format: u8,
    bytes: &'a [u8],
}

impl ItemBody<'_> {
    /// Whether this is how this build writes `encoded` (an [`encode_body`] result): the same bytes
    /// in the same format.
    pub fn is(&self, encoded: &[u8]) -> bool {
        self.format == VALUE_FORMAT && self.bytes == encoded
    }

    /// Whether the body was written in an older format (a JSON item).
    pub fn is_older(&self) -> bool {
        self.format < VALUE_FORMAT
    }

    pub fn decode(&self) -> Result<Item, Undecodable> {
        if self.format == JSON_ITEMS {
            return json(self.bytes);
        }
        match postcard::take_from_bytes::<Compact<String>>(self.bytes) {
            Ok((compact, [])) => compact.into_item(),
            Ok((_, rest)) => Err(Undecodable::Invalid(format!("{} bytes after the item", rest.len()))),
            Err(e) => Err(Undecodable::Invalid(e.to_string())),
        }
    }
}

/// An [`Item`] as value format 2 stores it: its fields in a fixed order, each without its name
/// (postcard writes lengths and integers as varints), times as seconds and nanoseconds (exact).
/// `S` is `&str` when encoding (nothing is copied) and `String` when decoding.
#[derive(Serialize, Deserialize)]
struct Compact<S> {
    tracker: S,
    key: S,
    id: S,
    url: S,
    filed_type: S,
    summary: S,
    description: S,
    labels: Vec<S>,
    status: S,
    open: bool,
    reporter: Option<S>,
    created: (i64, u32),
    updated: (i64, u32),
    priority: Option<S>,
    impact: Option<u8>,
    urgency: Option<u8>,
    queue: Option<S>,
    origin: Option<S>,
    /// In key order (a map's order), so the bytes are the same for the same item.
    fields: Vec<(S, S)>,
}

fn seconds(at: &DateTime<Utc>) -> (i64, u32) {
    (at.timestamp(), at.timestamp_subsec_nanos())
}

fn time((secs, nanos): (i64, u32)) -> Result<DateTime<Utc>, Undecodable> {
    DateTime::from_timestamp(secs, nanos)
        .ok_or_else(|| Undecodable::Invalid(format!("time out of range: {secs} s {nanos} ns")))
}

impl<'a> Compact<&'a str> {
    fn of(item: &'a Item) -> Compact<&'a str> {
        Compact {
            tracker: &item.tracker,
            key: &item.key,
            id: &item.id,
            url: &item.url,
            filed_type: &item.filed_type,
            summary: &item.summary,
            description: &item.description,
            labels: item.labels.iter().map(String::as_str).collect(),
            status: &item.status,
            open: item.open,
            reporter: item.reporter.as_deref(),
            created: seconds(&item.created),
            updated: seconds(&item.updated),
            priority: item.priority.as_deref(),
            impact: item.impact,
            urgency: item.urgency,
            queue: item.queue.as_deref(),
            origin: item.origin.as_deref(),
            fields: item.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        }
    }
}

impl Compact<String> {
    fn into_item(self) -> Result<Item, Undecodable> {
        Ok(Item {
            tracker: self.tracker,
            key: self.key,
            id: self.id,
            url: self.url,
            filed_type: self.filed_type,
            summary: self.summary,
            description: self.description,
            labels: self.labels,
            status: self.status,
            open: self.open,
            reporter: self.reporter,
            created: time(self.created)?,
            updated: time(self.updated)?,
            priority: self.priority,
            impact: self.impact,
            urgency: self.urgency,
            queue: self.queue,
            origin: self.origin,
            fields: self.fields.into_iter().collect::<BTreeMap<_, _>>(),
        })
    }
}

/// The item as this build stores it (the body after the header).
pub(super) fn encode_body(item: &Item) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_stdvec(&Compact::of(item))
}

/// Version byte + header + the item's body (an [`encode_body`] result).
pub(super) fn encode_item(header: &ItemHeader, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 24 + body.len());
    out.push(VALUE_FORMAT);
    out.extend_from_slice(&header.rev.to_be_bytes());
    out.extend_from_slice(&header.first_seen.timestamp_micros().to_be_bytes());
    out.extend_from_slice(&header.last_changed.timestamp_micros().to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Split a stored item into its header and its body.
pub(super) fn split_item(bytes: &[u8]) -> Result<(ItemHeader, ItemBody<'_>), Undecodable> {
    let (format, rest) = versioned(bytes)?;
    let (rev, rest) = take_u64(rest)?;
    let (first_seen, rest) = take_time(rest)?;
    let (last_changed, rest) = take_time(rest)?;
    Ok((ItemHeader { rev, first_seen, last_changed }, ItemBody { format, bytes: rest }))
}

/// Version byte + an item's body (history entries), kept in the format it was written in.
pub(super) fn encode_history(body: ItemBody<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + body.bytes.len());
    out.push(body.format);
    out.extend_from_slice(body.bytes);
    out
}

/// A history entry's item body.
pub(super) fn history_body(bytes: &[u8]) -> Result<ItemBody<'_>, Undecodable> {
    let (format, rest) = versioned(bytes)?;
    Ok(ItemBody { format, bytes: rest })
}

fn take_u64(bytes: &[u8]) -> Result<(u64, &[u8]), Undecodable> {
    match bytes.split_first_chunk::<8>() {
        Some((n, rest)) => Ok((u64::from_be_bytes(*n), rest)),
        None => Err(Undecodable::Invalid("value too short".into())),
    }
}

fn take_time(bytes: &[u8]) -> Result<(DateTime<Utc>, &[u8]), Undecodable> {
    let (raw, rest) = take_u64(bytes)?;
    let micros = i64::from_be_bytes(raw.to_be_bytes());
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Undecodable::Invalid(format!("timestamp out of range: {micros}")))?;
    Ok((at, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rich_item() -> Item {
        let mut item = Item::new("jira-prod", "SHOP-12", "Café checkout fails \u{1F525} for \"everyone\"");
        item.description = "line one\nline two\t\u{0}end".into();
        item.labels = vec!["a".into(), "ü-label".into()];
        item.reporter = Some("Zoë".into());
        item.created = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        item.updated = DateTime::from_timestamp(-86_400, 1).unwrap();
        item.priority = Some("2 - High".into());
        item.impact = Some(1);
        item.urgency = Some(3);
        item.queue = Some(String::new());
        item.origin = Some("INC0010001".into());
        item.fields.insert("story_points".into(), "5".into());
        item.fields.insert("a".into(), "".into());
        item
    }

    #[test]
    fn items_round_trip_exactly_in_fewer_bytes_than_json() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let header = ItemHeader { rev: 7, first_seen: at, last_changed: at };
        for item in [rich_item(), Item::new("t", "K", "")] {
            let body = encode_body(&item).unwrap();
            let bytes = encode_item(&header, &body);
            let (back, stored) = split_item(&bytes).unwrap();
            assert_eq!(back, header);
            assert!(stored.is(&body) && !stored.is_older());
            assert_eq!(stored.decode().unwrap(), item);
            assert_eq!(encode_body(&stored.decode().unwrap()).unwrap(), body, "the same item, the same bytes");
            assert!(body.len() < serde_json::to_vec(&item).unwrap().len());
            let history = encode_history(stored);
            assert_eq!(history_body(&history).unwrap().decode().unwrap(), item);
        }
    }

    #[test]
    fn items_stored_as_json_by_value_format_1_are_read() {
        let item = rich_item();
        let at = DateTime::from_timestamp_micros(5).unwrap();
        let mut bytes = encode_item(&ItemHeader { rev: 2, first_seen: at, last_changed: at }, b"");
        bytes[0] = JSON_ITEMS;
        bytes.extend_from_slice(&serde_json::to_vec(&item).unwrap());
        let (header, body) = split_item(&bytes).unwrap();
        assert_eq!(header.rev, 2);
        assert!(body.is_older() && !body.is(&encode_body(&item).unwrap()));
        assert_eq!(body.decode().unwrap(), item);
        let history = [&[JSON_ITEMS][..], &serde_json::to_vec(&item).unwrap()].concat();
        assert_eq!(history_body(&history).unwrap().decode().unwrap(), item);
    }

    #[test]
    fn a_damaged_item_body_is_an_error_not_a_panic() {
        let body = encode_body(&rich_item()).unwrap();
        for cut in 0..body.len() {
            let bytes =
                encode_item(&ItemHeader { rev: 1, first_seen: Utc::now(), last_changed: Utc::now() }, &body[..cut]);
            assert!(matches!(split_item(&bytes).unwrap().1.decode(), Err(Undecodable::Invalid(_))), "cut at {cut}");
        }
        let item = rich_item();
        let mut far = Compact::of(&item);
        far.created = (i64::MAX, 0);
        let bytes = postcard::to_stdvec(&far).unwrap();
        let stored = ItemBody { format: VALUE_FORMAT, bytes: &bytes };
        assert!(matches!(stored.decode(), Err(Undecodable::Invalid(e)) if e.contains("out of range")));
        let longer = [&body[..], &[0]].concat();
        let stored = ItemBody { format: VALUE_FORMAT, bytes: &longer };
        assert!(matches!(stored.decode(), Err(Undecodable::Invalid(e)) if e.contains("after the item")));
    }

    #[test]
    fn a_newer_version_byte_is_refused_not_misread() {
        assert!(matches!(body(&[VALUE_FORMAT + 1, b'{', b'}']), Err(Undecodable::Newer(3))));
        assert!(matches!(body(&[0]), Err(Undecodable::Invalid(_))));
        assert!(matches!(body(&[]), Err(Undecodable::Invalid(_))));
        assert!(matches!(split_item(&[VALUE_FORMAT, 0, 0]), Err(Undecodable::Invalid(_))));
    }

    #[test]
    fn keys_join_parts_with_nul_and_names_may_not_contain_it() {
        assert_eq!(key(&[b"jira", b"A-1"]), b"jira\0A-1");
        assert_eq!(prefix("jira"), b"jira\0");
        assert_eq!(first_part(b"jira\0A-1").unwrap(), "jira");
        assert_eq!(trailing_u64(&key(&[b"t", &5u64.to_be_bytes()])).unwrap(), 5);
        assert!(check_name("tracker", "jira").is_ok());
        assert!(check_name("tracker", "").is_err());
        assert!(check_name("tracker", "ji\0ra").is_err());
    }

    #[test]
    fn stamped_values_round_trip() {
        let at = DateTime::from_timestamp_micros(-5).unwrap();
        let bytes = encode_stamped(at, &vec![1, 2]).unwrap();
        let (back, v): (_, Vec<i32>) = decode_stamped(&bytes).unwrap();
        assert_eq!((back, v), (at, vec![1, 2]));
    }
}
