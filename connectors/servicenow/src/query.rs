//! Building Table API requests: encoded queries, timestamps, list parameters and the `Link` header.
//!
//! Everything here is pure: strings in, strings out, so it is tested without a server.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// ServiceNow's actual-value date-time format (always UTC with `sysparm_display_value=false|all`).
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Format a timestamp the way encoded queries compare it: UTC `yyyy-MM-dd HH:mm:ss`.
///
/// Sub-second precision is truncated, which only widens a `>=` query (the cursor drops the overlap).
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format(TIME_FORMAT).to_string()
}

/// Parse an actual (UTC) date-time value such as `"2016-12-14 02:46:44"`.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text.trim(), TIME_FORMAT).ok().map(|naive| naive.and_utc())
}

/// Why a value cannot go into an encoded query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `^` separates terms and has no escape, so a value containing it would change the query.
    #[error("{what} {value:?} cannot be used in a ServiceNow encoded query (it contains '^' or a line break)")]
    Unencodable { what: &'static str, value: String },
    /// The configured query must be a plain AND/OR condition the connector can extend.
    #[error(
        "the configured query {query:?} contains {part}; use a plain condition (terms joined by ^ or ^OR): the connector adds its own time filter and ORDERBY"
    )]
    UnsupportedQuery { query: String, part: &'static str },
}

/// Check that `value` can be the right-hand side of an encoded-query term.
pub fn literal<'a>(what: &'static str, value: &'a str) -> Result<&'a str, QueryError> {
    if value.contains('^') || value.contains('\n') || value.contains('\r') {
        return Err(QueryError::Unencodable { what, value: value.to_string() });
    }
    Ok(value)
}

/// Check the configured filter: it is prepended to every pull, so it must not start new OR groups
/// (`^NQ`, which would escape the time filter) nor order the results itself.
pub fn validate_filter(query: &str) -> Result<(), QueryError> {
    let upper = query.to_ascii_uppercase();
    let unsupported = [("^NQ", "a new-query group (^NQ)"), ("ORDERBY", "an ORDERBY"), ("\n", "a line break")];
    for (needle, part) in unsupported {
        if upper.contains(needle) {
            return Err(QueryError::UnsupportedQuery { query: query.to_string(), part });
        }
    }
    Ok(())
}

/// A position in a table's pull order (`sys_updated_on`, then `sys_id`): a record's pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    pub updated: DateTime<Utc>,
    pub sys_id: String,
}

impl Keyset {
    /// The page token that continues a pull after this position: `<yyyy-MM-dd HH:mm:ss>|<sys_id>`.
    pub fn to_token(&self) -> String {
        format!("{}|{}", format_time(self.updated), self.sys_id)
    }

    /// Read a token written by [`Keyset::to_token`]; `None` for anything else.
    pub fn from_token(token: &str) -> Option<Keyset> {
        let (updated, sys_id) = token.split_once('|')?;
        let updated = parse_time(updated)?;
        literal("sys_id", sys_id).ok().filter(|id| !id.is_empty())?;
        Some(Keyset { updated, sys_id: sys_id.to_string() })
    }
}

/// Where a pull of one table starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Every record (a first or full pull).
    All,
    /// Records updated at or after this second: a cursor stored before keyset paging (it knows the keys
    /// it saw at that second, not their sys_ids; the cursor drops the overlap).
    AtOrAfter(DateTime<Utc>),
    /// Records strictly after this position.
    After(Keyset),
}

/// How long after a second a record can still be stamped with it, as far as a resume is concerned: the
/// instance's clock may run ahead of ours, and an update is stamped before it commits.
pub const SETTLE: TimeDelta = TimeDelta::seconds(60);

/// Where an incremental pull resumes from a cursor at `since` whose last record had `last_id`, at `now`.
///
/// Strictly after `(since, last_id)` once that second has settled, so nothing already ingested is
/// downloaded again. While it may still be open (within [`SETTLE`] of `now`) or the cursor has no id
/// (stored before keyset paging), at `since` inclusive: a record edited again within that second keeps
/// its `(sys_updated_on, sys_id)` and only an inclusive read sees it (the cursor's fingerprints drop the
/// unchanged ones).
pub fn resume(since: Option<DateTime<Utc>>, last_id: Option<&str>, now: DateTime<Utc>) -> Start {
    match (since, last_id) {
        (None, _) => Start::All,
        (Some(updated), Some(sys_id)) if now - updated >= SETTLE => {
            Start::After(Keyset { updated, sys_id: sys_id.to_string() })
        }
        (Some(since), _) => Start::AtOrAfter(since),
    }
}

/// The encoded query of a pull, ordered by `sys_updated_on` then `sys_id` (a total order, since sys_ids
/// are unique):
///
/// * [`Start::All`] gives `<filter>^ORDERBYsys_updated_on^ORDERBYsys_id`
/// * [`Start::AtOrAfter`] gives `<filter>^sys_updated_on>=<t>^ORDERBY...`
/// * [`Start::After`] gives `<filter>^sys_updated_on><t>^NQ<filter>^sys_updated_on=<t>^sys_id><id>^ORDERBY...`
///
/// The last is keyset paging: each page asks for what follows the last record of the previous one, so
/// a record edited while a pull pages (it moves to the end of the order) shifts nothing, unlike an
/// offset. `sys_updated_on` has one-second resolution, hence the tie-break on `sys_id` in a second
/// `^NQ` group (which repeats the filter: a new query does not inherit the first one's conditions).
pub fn pull_query(filter: Option<&str>, start: &Start) -> String {
    let filter = filter.map(str::trim).filter(|f| !f.is_empty());
    let group = |conditions: &[String]| -> String {
        filter.map(str::to_string).into_iter().chain(conditions.iter().cloned()).collect::<Vec<_>>().join("^")
    };
    let mut query = match start {
        Start::All => group(&[]),
        Start::AtOrAfter(since) => group(&[format!("sys_updated_on>={}", format_time(*since))]),
        Start::After(Keyset { updated, sys_id }) => {
            let at = format_time(*updated);
            let later = group(&[format!("sys_updated_on>{at}")]);
            let same_second = group(&[format!("sys_updated_on={at}"), format!("sys_id>{sys_id}")]);
            format!("{later}^NQ{same_second}")
        }
    };
    if !query.is_empty() {
        query.push('^');
    }
    query.push_str("ORDERBYsys_updated_on^ORDERBYsys_id");
    query
}

/// A partition of a full pull: the records whose `sys_id` is in `[from, to)` (text order; no bound where
/// empty). sys_ids are 32 random hex digits, so hex-prefix ranges split a table evenly.
///
/// A partition is read in `sys_id` order, keyset-paged by the last `sys_id` seen: the range and the order
/// are one index (the table's primary key), so a page costs the instance about the rows it returns, and
/// neither moves when a record is edited meanwhile (an edit only changes what the row says; the scope's
/// cursor after the pull ends before the pull began, so the next incremental sync reads the edit). Read
/// in `sys_updated_on` order instead, every page of every partition would walk the rows of the other
/// partitions in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRange {
    pub from: String,
    pub to: String,
}

impl IdRange {
    /// Adjacent ranges covering every sys_id, cut at `cuts` (fractions of the id space, ascending; see
    /// [`twotrack_api::Partitioning::cuts`]) on four-hex-digit prefixes (the first range open below, the
    /// last open above, so ids that are not lower-case hex are covered too).
    pub fn split(cuts: &[f64]) -> Vec<IdRange> {
        const SPACE: f64 = 65_536.0;
        let mut bounds: Vec<String> = cuts
            .iter()
            .map(|cut| (cut * SPACE).round())
            .filter(|prefix| *prefix >= 1.0 && *prefix < SPACE)
            .map(|prefix| format!("{:04x}", prefix as u32))
            .collect();
        bounds.dedup();
        let starts: Vec<String> = std::iter::once(String::new()).chain(bounds.iter().cloned()).collect();
        let ends = bounds.into_iter().chain(std::iter::once(String::new()));
        starts.into_iter().zip(ends).map(|(from, to)| IdRange { from, to }).collect()
    }

    /// The encoded query of the range's page after the record `after` (from the range's start when
    /// `None`): `<filter>^sys_id>=<from>^sys_id<<to>^ORDERBYsys_id`, with `sys_id><after>` in place of
    /// the lower bound once a page was read.
    pub fn query(&self, filter: Option<&str>, after: Option<&str>) -> String {
        let filter = filter.map(str::trim).filter(|f| !f.is_empty()).map(str::to_string);
        let lower = match after {
            Some(after) => Some(format!("sys_id>{after}")),
            None => (!self.from.is_empty()).then(|| format!("sys_id>={}", self.from)),
        };
        let upper = (!self.to.is_empty()).then(|| format!("sys_id<{}", self.to));
        let terms = filter.into_iter().chain(lower).chain(upper).chain(Some("ORDERBYsys_id".to_string()));
        terms.collect::<Vec<_>>().join("^")
    }

    /// The page token of this range, continuing after the record `after` (a sys_id; from the range's
    /// start when `None`): `p|<from>|<to>|<after>`.
    pub fn to_token(&self, after: Option<&str>) -> String {
        format!("p|{}|{}|{}", self.from, self.to, after.unwrap_or_default())
    }

    /// Read a token written by [`IdRange::to_token`]; `None` for anything else. A token of an earlier
    /// version, which continued after a (`sys_updated_on`, `sys_id`) pair, continues from the range's
    /// start: what was already stored is read again and found unchanged.
    pub fn from_token(token: &str) -> Option<(IdRange, Option<String>)> {
        let mut parts = token.strip_prefix("p|")?.splitn(3, '|');
        let hex = |s: &str| s.len() <= 32 && s.chars().all(|c| c.is_ascii_hexdigit());
        let (from, to, after) = (parts.next()?, parts.next()?, parts.next()?);
        if !hex(from) || !hex(to) {
            return None;
        }
        let after = match after {
            "" => None,
            keyset if Keyset::from_token(keyset).is_some() => None,
            id => Some(literal("sys_id", id).ok().filter(|id| !id.contains('|'))?.to_string()),
        };
        Some((IdRange { from: from.to_string(), to: to.to_string() }, after))
    }
}

/// One `<url>; rel="..."` entry of a `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub url: String,
    pub rel: String,
}

/// Parse a `Link` header (RFC 8288 subset): `<u1>;rel="first",<u2>;rel="next"`.
///
/// Tolerates spaces, unquoted rel values and commas inside the `<...>` URL; skips malformed entries.
pub fn parse_link_header(header: &str) -> Vec<LinkEntry> {
    let mut entries = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else { break };
        let url = after_open[..close].trim().to_string();
        let params_and_more = &after_open[close + 1..];
        // The parameters run until the next entry, which starts with ",<" (possibly with spaces).
        let params_end = next_entry_start(params_and_more).unwrap_or(params_and_more.len());
        let params = &params_and_more[..params_end];
        if let Some(rel) = rel_param(params) {
            for rel in rel.split_whitespace() {
                entries.push(LinkEntry { url: url.clone(), rel: rel.to_ascii_lowercase() });
            }
        }
        rest = &params_and_more[params_end..];
    }
    entries
}

/// The URL of the `rel="next"` entry, if any.
pub fn next_link(header: &str) -> Option<String> {
    parse_link_header(header).into_iter().find(|e| e.rel == "next").map(|e| e.url)
}

fn next_entry_start(params: &str) -> Option<usize> {
    let mut search_from = 0;
    while let Some(comma) = params[search_from..].find(',') {
        let at = search_from + comma;
        if params[at + 1..].trim_start().starts_with('<') {
            return Some(at);
        }
        search_from = at + 1;
    }
    None
}

fn rel_param(params: &str) -> Option<String> {
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("rel").then(|| value.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_round_trip_in_utc_seconds() {
        let at = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap();
        assert_eq!(format_time(at), "2024-01-15 10:30:05");
        assert_eq!(parse_time("2024-01-15 10:30:05"), Some(at));
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("15.01.2024 10:30"), None);
        let with_millis = at + chrono::Duration::milliseconds(900);
        assert_eq!(format_time(with_millis), "2024-01-15 10:30:05", "truncated, never rounded up");
    }

    #[test]
    fn pull_query_appends_time_filter_and_total_order() {
        let since = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap();
        assert_eq!(
            pull_query(Some("active=true^category=network"), &Start::AtOrAfter(since)),
            "active=true^category=network^sys_updated_on>=2024-01-15 10:30:00^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
        assert_eq!(pull_query(None, &Start::All), "ORDERBYsys_updated_on^ORDERBYsys_id");
        assert_eq!(pull_query(Some("  "), &Start::All), "ORDERBYsys_updated_on^ORDERBYsys_id");
    }

    #[test]
    fn keyset_query_continues_after_a_record_and_repeats_the_filter_in_each_group() {
        let at = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap();
        let after = Start::After(Keyset { updated: at, sys_id: "9d3f".into() });
        assert_eq!(
            pull_query(Some("active=true^ORpriority=1"), &after),
            "active=true^ORpriority=1^sys_updated_on>2024-01-15 10:30:05\
             ^NQactive=true^ORpriority=1^sys_updated_on=2024-01-15 10:30:05^sys_id>9d3f\
             ^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
        assert_eq!(
            pull_query(None, &after),
            "sys_updated_on>2024-01-15 10:30:05^NQsys_updated_on=2024-01-15 10:30:05^sys_id>9d3f\
             ^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
    }

    #[test]
    fn a_settled_cursor_resumes_after_its_record_an_open_or_old_one_at_its_second() {
        let since = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap();
        let after = Start::After(Keyset { updated: since, sys_id: "ab".into() });
        assert_eq!(resume(None, Some("ab"), since), Start::All);
        assert_eq!(resume(Some(since), Some("ab"), since + SETTLE), after);
        assert_eq!(resume(Some(since), Some("ab"), since + TimeDelta::days(3)), after);
        assert_eq!(resume(Some(since), Some("ab"), since + SETTLE - TimeDelta::seconds(1)), Start::AtOrAfter(since));
        assert_eq!(resume(Some(since), Some("ab"), since - TimeDelta::seconds(30)), Start::AtOrAfter(since));
        assert_eq!(resume(Some(since), None, since + TimeDelta::days(3)), Start::AtOrAfter(since));
    }

    #[test]
    fn keyset_tokens_round_trip_and_reject_anything_else() {
        let keyset = Keyset { updated: Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 5).unwrap(), sys_id: "ab12".into() };
        assert_eq!(keyset.to_token(), "2024-01-15 10:30:05|ab12");
        assert_eq!(Keyset::from_token(&keyset.to_token()), Some(keyset));
        for bad in ["", "ab12", "2024-01-15 10:30:05|", "yesterday|ab12", "2024-01-15 10:30:05|a^NQb", "https://x/y"] {
            assert_eq!(Keyset::from_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn filters_that_would_escape_the_time_filter_are_rejected() {
        assert!(validate_filter("active=true^ORpriority=1").is_ok());
        assert!(matches!(validate_filter("active=true^NQpriority=1"), Err(QueryError::UnsupportedQuery { .. })));
        assert!(matches!(validate_filter("active=true^ORDERBYnumber"), Err(QueryError::UnsupportedQuery { .. })));
        assert!(literal("group", "Network Ops").is_ok());
        assert!(literal("group", "a^b").is_err());
        assert!(literal("key", "INC1\nx").is_err());
    }

    #[test]
    fn link_header_documented_example() {
        let header = "<https://demo003.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_fields=number&sysparm_offset=0>;rel=\"first\",<https://demo003.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_fields=number&sysparm_offset=-1>;rel=\"prev\",<https://demo003.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_fields=number&sysparm_offset=1>;rel=\"next\",<https://demo003.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_fields=number&sysparm_offset=549>;rel=\"last\"";
        let entries = parse_link_header(header);
        let rels: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(rels, ["first", "prev", "next", "last"]);
        assert_eq!(
            next_link(header).as_deref(),
            Some(
                "https://demo003.service-now.com/api/now/table/incident?sysparm_limit=1&sysparm_fields=number&sysparm_offset=1"
            )
        );
    }

    #[test]
    fn link_header_tolerates_commas_in_urls_spaces_and_missing_next() {
        let header = "<http://h/api?sysparm_fields=number,sys_id&sysparm_offset=0>; rel=first , <http://h/api?sysparm_fields=number,sys_id&sysparm_offset=500>; rel=\"next\"";
        assert_eq!(next_link(header).as_deref(), Some("http://h/api?sysparm_fields=number,sys_id&sysparm_offset=500"));
        assert_eq!(next_link("<http://h/a?o=0>;rel=\"first\",<http://h/a?o=9>;rel=\"last\""), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage <unterminated"), None);
    }

    #[test]
    fn id_ranges_cover_the_sys_id_space_once_and_their_tokens_round_trip() {
        let ranges = IdRange::split(&[0.25, 0.5, 0.75]);
        let bounds: Vec<(&str, &str)> = ranges.iter().map(|r| (r.from.as_str(), r.to.as_str())).collect();
        assert_eq!(bounds, [("", "4000"), ("4000", "8000"), ("8000", "c000"), ("c000", "")]);
        assert_eq!(ranges[0].query(None, None), "sys_id<4000^ORDERBYsys_id");
        assert_eq!(ranges[1].query(Some("active=true"), None), "active=true^sys_id>=4000^sys_id<8000^ORDERBYsys_id");
        assert_eq!(ranges[1].query(None, Some("4abc")), "sys_id>4abc^sys_id<8000^ORDERBYsys_id");
        assert_eq!(ranges[3].query(None, Some("c1")), "sys_id>c1^ORDERBYsys_id");
        assert_eq!(IdRange::split(&[])[0].query(Some(" "), None), "ORDERBYsys_id");
        // Cuts closer than a prefix apart make one range; none falls outside the space.
        assert_eq!(IdRange::split(&[1e-9, 0.5, 0.5 + 1e-9, 1.0 - 1e-9]).len(), 2);
        let ids = ["0000", "3fffffff", "4000", "40000001", "bfff", "c0", "ffffffff", "ZZ"];
        for id in ids {
            let holding = ranges
                .iter()
                .filter(|r| (r.from.is_empty() || id >= r.from.as_str()) && (r.to.is_empty() || id < r.to.as_str()));
            assert_eq!(holding.count(), 1, "{id}");
        }
        for (range, after) in [(ranges[1].clone(), Some("4abc".to_string())), (ranges[3].clone(), None)] {
            assert_eq!(IdRange::from_token(&range.to_token(after.as_deref())), Some((range, after)));
        }
        // A token of the earlier (sys_updated_on, sys_id) paging continues from the range's start.
        assert_eq!(IdRange::from_token("p|4000|8000|2024-01-02 03:04:05|abc"), Some((ranges[1].clone(), None)));
        assert_eq!(IdRange::from_token("p|zz||"), None);
        assert_eq!(IdRange::from_token("2024-01-02 03:04:05|abc"), None);
    }
}
