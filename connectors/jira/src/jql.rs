//! The JQL twotrack sends, and the page tokens it hands out.
//!
//! Incremental pulls ask for `updated >= "<since - 1 minute>"`: JQL date literals have minute precision and
//! are read in the API user's profile time zone, so the bound is converted to that zone and rounded down to
//! the minute. The overlap this creates is dropped by [`twotrack_api::Cursor::is_new`]. Results are ordered
//! `updated ASC, key ASC` so that a pull can resume from the last `updated` it saw.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// How far before the cursor an incremental query starts.
pub const MARGIN: Duration = Duration::minutes(1);

/// A JQL string literal: `"text"` with `"` and `\` escaped.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The restriction every pull shares: the configured projects and JQL, combined with AND.
/// `None` when both are empty (Jira rejects unbounded searches).
pub fn base_restriction(projects: &[String], jql: Option<&str>) -> Option<String> {
    let mut parts = Vec::new();
    if !projects.is_empty() {
        let list: Vec<String> = projects.iter().map(|p| quote(p)).collect();
        parts.push(format!("project in ({})", list.join(", ")));
    }
    if let Some(jql) = jql.map(str::trim).filter(|j| !j.is_empty()) {
        parts.push(format!("({jql})"));
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// Where a query's `updated` lower bound comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    /// No bound: a full pull.
    All,
    /// A JQL date literal in the user's zone (`2024-01-15 10:29`).
    Local(String),
    /// Epoch milliseconds, used when the user's time zone is unknown.
    EpochMillis(i64),
}

impl Bound {
    /// The bound for an incremental pull from `since`: `since - MARGIN`, in `tz`, rounded down to the minute.
    pub fn from_since(since: Option<DateTime<Utc>>, tz: Option<Tz>) -> Bound {
        let Some(since) = since else { return Bound::All };
        let from = since - MARGIN;
        match tz {
            Some(tz) => Bound::Local(from.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()),
            None => Bound::EpochMillis(from.timestamp_millis() - from.timestamp_millis().rem_euclid(60_000)),
        }
    }

    /// The bound at the minute of `updated` (used to move a Data Center pull forward).
    pub fn at(updated: DateTime<Utc>, tz: Option<Tz>) -> Bound {
        Bound::from_since(Some(updated + MARGIN), tz)
    }

    fn clause(&self) -> Option<String> {
        match self {
            Bound::All => None,
            Bound::Local(literal) => Some(format!("updated >= {}", quote(literal))),
            Bound::EpochMillis(ms) => Some(format!("updated >= {ms}")),
        }
    }

    fn encode(&self) -> String {
        match self {
            Bound::All => String::new(),
            Bound::Local(literal) => format!("l{literal}"),
            Bound::EpochMillis(ms) => format!("e{ms}"),
        }
    }

    fn decode(text: &str) -> Option<Bound> {
        if text.is_empty() {
            return Some(Bound::All);
        }
        let (tag, rest) = text.split_at(1);
        match tag {
            "l" => Some(Bound::Local(rest.to_string())),
            "e" => rest.parse().ok().map(Bound::EpochMillis),
            _ => None,
        }
    }
}

/// The full search JQL: the restriction, the bound, the order.
pub fn search(restriction: &str, bound: &Bound) -> String {
    match bound.clause() {
        Some(clause) => format!("{restriction} AND {clause} ORDER BY updated ASC, key ASC"),
        None => format!("{restriction} ORDER BY updated ASC, key ASC"),
    }
}

/// The JQL of one partition of a full pull: the issues created in `[from, to)` (epoch milliseconds,
/// whole minutes, as JQL compares dates; no bound where `None`), in creation order. An edit does not move
/// an issue in that order, so offset pages (Data Center) stay stable while issues change.
pub fn window_search(restriction: &str, from: Option<i64>, to: Option<i64>) -> String {
    let mut jql = restriction.to_string();
    if let Some(from) = from {
        jql.push_str(&format!(" AND created >= {from}"));
    }
    if let Some(to) = to {
        jql.push_str(&format!(" AND created < {to}"));
    }
    jql.push_str(" ORDER BY created ASC, key ASC");
    jql
}

/// Split the creation times `first..=last` into disjoint windows of whole minutes cut at `cuts` (fractions
/// of the span, ascending; see [`twotrack_api::Partitioning::cuts`]) that cover every time (the first
/// open below, the last open above, so issues created meanwhile are in it). Cuts that fall in one minute
/// make one window.
pub fn windows(first: DateTime<Utc>, last: DateTime<Utc>, cuts: &[f64]) -> Vec<(Option<i64>, Option<i64>)> {
    const MINUTE: i64 = 60_000;
    let from = first.timestamp_millis().div_euclid(MINUTE);
    let to = last.timestamp_millis().div_euclid(MINUTE) + 1;
    let span = (to - from).max(1);
    let mut bounds: Vec<i64> = cuts
        .iter()
        .map(|cut| from + (span as f64 * cut).round() as i64)
        .filter(|minute| (from + 1..to).contains(minute))
        .map(|minute| minute * MINUTE)
        .collect();
    bounds.dedup();
    let starts = std::iter::once(None).chain(bounds.iter().copied().map(Some));
    let ends = bounds.iter().copied().map(Some).chain(std::iter::once(None));
    starts.zip(ends).collect()
}

/// Where the next page of a pull starts. Opaque to callers; it pins the bound the pull started with, so a
/// cursor that advanced between pages does not change the query under a vendor page token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageToken {
    /// Cloud: the vendor's `nextPageToken` for the query with this bound.
    Cloud { bound: Bound, token: String },
    /// Data Center: the query with this bound, from offset `skip`.
    Offset { bound: Bound, skip: u64 },
    /// A partition of a full pull ([`window_search`]): from offset `skip` (Data Center) or the vendor's
    /// `token` (Cloud; empty for the first page).
    Window { from: Option<i64>, to: Option<i64>, skip: u64, token: String },
}

impl PageToken {
    pub fn encode(&self) -> String {
        match self {
            PageToken::Cloud { bound, token } => format!("c|{}|{token}", bound.encode()),
            PageToken::Offset { bound, skip } => format!("o|{}|{skip}", bound.encode()),
            PageToken::Window { from, to, skip, token } => {
                let bound = |b: &Option<i64>| b.map(|ms| ms.to_string()).unwrap_or_default();
                format!("w|{}|{}|{skip}|{token}", bound(from), bound(to))
            }
        }
    }

    pub fn decode(text: &str) -> Option<PageToken> {
        if let Some(window) = text.strip_prefix("w|") {
            let mut parts = window.splitn(4, '|');
            let mut bound = || -> Option<Option<i64>> {
                let part = parts.next()?;
                if part.is_empty() { Some(None) } else { part.parse().ok().map(Some) }
            };
            let (from, to) = (bound()?, bound()?);
            let skip = parts.next()?.parse().ok()?;
            let token = parts.next()?.to_string();
            return Some(PageToken::Window { from, to, skip, token });
        }
        let mut parts = text.splitn(3, '|');
        let (kind, bound, rest) = (parts.next()?, parts.next()?, parts.next()?);
        let bound = Bound::decode(bound)?;
        match kind {
            "c" => Some(PageToken::Cloud { bound, token: rest.to_string() }),
            "o" => rest.parse().ok().map(|skip| PageToken::Offset { bound, skip }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn restriction_combines_projects_and_jql() {
        let projects = vec!["SHOP".to_string(), "PAY".to_string()];
        assert_eq!(base_restriction(&projects, None).unwrap(), r#"project in ("SHOP", "PAY")"#);
        assert_eq!(
            base_restriction(&projects, Some("labels = x OR labels = y")).unwrap(),
            r#"project in ("SHOP", "PAY") AND (labels = x OR labels = y)"#
        );
        assert_eq!(base_restriction(&[], Some("  ")), None);
    }

    #[test]
    fn the_bound_is_one_minute_early_in_the_user_zone_rounded_down() {
        let since = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 59).unwrap();
        assert_eq!(Bound::from_since(Some(since), Some(Tz::UTC)), Bound::Local("2024-01-15 10:29".into()));
        // Berlin is UTC+1 in January, UTC+2 in July.
        assert_eq!(Bound::from_since(Some(since), Some(Tz::Europe__Berlin)), Bound::Local("2024-01-15 11:29".into()));
        let summer = Utc.with_ymd_and_hms(2024, 7, 1, 0, 0, 30).unwrap();
        assert_eq!(Bound::from_since(Some(summer), Some(Tz::Europe__Berlin)), Bound::Local("2024-07-01 01:59".into()));
        // Los Angeles is behind UTC: the date goes back a day.
        assert_eq!(
            Bound::from_since(Some(summer), Some(Tz::America__Los_Angeles)),
            Bound::Local("2024-06-30 16:59".into())
        );
        let millis = Bound::from_since(Some(since), None);
        assert_eq!(
            millis,
            Bound::EpochMillis(Utc.with_ymd_and_hms(2024, 1, 15, 10, 29, 0).unwrap().timestamp_millis())
        );
        assert_eq!(Bound::from_since(None, Some(Tz::UTC)), Bound::All);
    }

    #[test]
    fn search_jql_orders_by_updated_then_key() {
        assert_eq!(
            search("project = A", &Bound::Local("2024-01-15 10:29".into())),
            r#"project = A AND updated >= "2024-01-15 10:29" ORDER BY updated ASC, key ASC"#
        );
        assert_eq!(search("project = A", &Bound::All), "project = A ORDER BY updated ASC, key ASC");
        assert_eq!(search("x", &Bound::EpochMillis(60_000)), "x AND updated >= 60000 ORDER BY updated ASC, key ASC");
    }

    #[test]
    fn windows_cover_every_minute_once() {
        let first = Utc.with_ymd_and_hms(2024, 1, 15, 10, 0, 30).unwrap();
        let last = Utc.with_ymd_and_hms(2024, 1, 15, 10, 9, 59).unwrap();
        let w = windows(first, last, &[0.25, 0.5, 0.75]);
        assert_eq!(w.len(), 4);
        assert_eq!((w[0].0, w[3].1), (None, None), "open at both ends");
        for pair in w.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "adjacent, no gap, no overlap");
        }
        assert!(w[1..].iter().all(|(from, _)| from.unwrap() % 60_000 == 0), "whole minutes: {w:?}");
        // Ten minutes cannot make more than ten windows; one instant makes one.
        let fine: Vec<f64> = (1..50).map(|i| f64::from(i) / 50.0).collect();
        assert_eq!(windows(first, last, &fine).len(), 10);
        assert_eq!(windows(first, first, &fine), [(None, None)]);
        assert_eq!(windows(first, last, &[]), [(None, None)]);
        assert_eq!(
            window_search("project = A", Some(60_000), None),
            "project = A AND created >= 60000 ORDER BY created ASC, key ASC"
        );
    }

    #[test]
    fn page_tokens_round_trip() {
        for token in [
            PageToken::Cloud { bound: Bound::Local("2024-01-15 10:29".into()), token: "a|b=c".into() },
            PageToken::Cloud { bound: Bound::All, token: "t".into() },
            PageToken::Offset { bound: Bound::EpochMillis(42), skip: 100 },
            PageToken::Window { from: None, to: Some(120_000), skip: 0, token: "a|b".into() },
            PageToken::Window { from: Some(60_000), to: None, skip: 300, token: String::new() },
        ] {
            assert_eq!(PageToken::decode(&token.encode()), Some(token));
        }
        assert_eq!(PageToken::decode("garbage"), None);
        assert_eq!(PageToken::decode("o|x1|5"), None);
    }
}
