//! Byte layouts of keys and values.
//!
//! Keys join their parts with a NUL byte (`tracker \0 key`), so names may not contain NUL; they sort by
//! tracker, then key. Every value starts with a one-byte format version ([`VALUE_FORMAT`]); a reader
//! refuses a newer version rather than misreading it. After the version byte:
//!
//! | tree | value |
//! |------|-------|
//! | items | rev (u64 BE), first seen and last changed (i64 BE microseconds), then the item as JSON |
//! | history | the superseded item as JSON |
//! | cursors, syncs, records | JSON |
//! | logs | appended at (i64 BE microseconds), then JSON |
//!
//! The item JSON comes last and alone so that "did the content change?" is a byte comparison: serializing
//! an [`Item`](crate::api::model::Item) is deterministic (fixed field order, ordered maps).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::MirrorError;

/// The version byte at the start of every value this build writes.
pub(super) const VALUE_FORMAT: u8 = 1;

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
    match bytes.split_first() {
        Some((&VALUE_FORMAT, rest)) => Ok(rest),
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

/// Version byte + header + the item's JSON (as produced by `serde_json::to_vec`).
pub(super) fn encode_item(header: &ItemHeader, item_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 24 + item_json.len());
    out.push(VALUE_FORMAT);
    out.extend_from_slice(&header.rev.to_be_bytes());
    out.extend_from_slice(&header.first_seen.timestamp_micros().to_be_bytes());
    out.extend_from_slice(&header.last_changed.timestamp_micros().to_be_bytes());
    out.extend_from_slice(item_json);
    out
}

/// Split a stored item into its header and its JSON.
pub(super) fn split_item(bytes: &[u8]) -> Result<(ItemHeader, &[u8]), Undecodable> {
    let rest = body(bytes)?;
    let (rev, rest) = take_u64(rest)?;
    let (first_seen, rest) = take_time(rest)?;
    let (last_changed, rest) = take_time(rest)?;
    Ok((ItemHeader { rev, first_seen, last_changed }, rest))
}

/// Version byte + the item's JSON (history entries).
pub(super) fn encode_history(item_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + item_json.len());
    out.push(VALUE_FORMAT);
    out.extend_from_slice(item_json);
    out
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

    #[test]
    fn item_values_round_trip_and_keep_the_json_verbatim() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let header = ItemHeader { rev: 7, first_seen: at, last_changed: at };
        let bytes = encode_item(&header, br#"{"k":1}"#);
        let (back, json) = split_item(&bytes).unwrap();
        assert_eq!(back, header);
        assert_eq!(json, br#"{"k":1}"#);
    }

    #[test]
    fn a_newer_version_byte_is_refused_not_misread() {
        assert!(matches!(body(&[VALUE_FORMAT + 1, b'{', b'}']), Err(Undecodable::Newer(2))));
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
