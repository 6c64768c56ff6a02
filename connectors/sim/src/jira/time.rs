//! Jira's date-time formats: the `yyyy-MM-dd'T'HH:mm:ss.SSSZ` output format and the JQL date literals.
//!
//! Jira renders timestamps in the calling user's profile time zone (`2024-01-15T11:30:00.000+0100`) and
//! interprets JQL date literals, which have minute precision, in that same zone.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Formats an instant like Jira: `2024-01-15T10:30:00.000+0000`, in the user's time zone.
pub fn format(instant: DateTime<Utc>, tz: Tz) -> String {
    display(instant, tz).to_string()
}

/// [`format`] without the allocation, to write where it goes.
pub fn display(instant: DateTime<Utc>, tz: Tz) -> impl std::fmt::Display {
    instant.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%.3f%z")
}

/// Truncates an instant to whole milliseconds (Jira's resolution).
pub fn to_millis(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(instant.timestamp_millis()).unwrap_or(instant)
}

/// Parses a JQL date value into an instant.
///
/// Accepted: `yyyy-MM-dd HH:mm`, `yyyy/MM/dd HH:mm`, `yyyy-MM-dd`, `yyyy/MM/dd` (local time in `tz`),
/// epoch milliseconds, and periods relative to `now` such as `-5d`, `-2h`, `4w 2d`, `-30m`.
pub fn parse_jql_date(text: &str, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok().and_then(DateTime::from_timestamp_millis);
    }
    if let Some(offset) = parse_period(text) {
        return now.checked_add_signed(offset);
    }
    let normalized = text.replace('/', "-");
    let local = NaiveDateTime::parse_from_str(&normalized, "%Y-%m-%d %H:%M")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(&normalized, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    // Reject values chrono would accept leniently but Jira would not (e.g. a single-digit year).
    if normalized.len() < 10 {
        return None;
    }
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earliest, _) => Some(earliest.with_timezone(&Utc)),
        // A wall-clock time skipped by a DST change: take the instant an hour later, like Java's lenient calendar.
        LocalResult::None => {
            tz.from_local_datetime(&(local + Duration::hours(1))).earliest().map(|t| t.with_timezone(&Utc))
        }
    }
}

/// Parses a relative period: optional sign, then one or more `<number><unit>` groups (units w, d, h, m).
fn parse_period(text: &str) -> Option<Duration> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'-' => (-1, &text[1..]),
        b'+' => (1, &text[1..]),
        _ => (1, text),
    };
    let mut total = Duration::zero();
    let mut digits = String::new();
    let mut groups = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' if digits.is_empty() => {}
            'w' | 'd' | 'h' | 'm' if !digits.is_empty() => {
                let n: i64 = digits.parse().ok()?;
                let unit = match c {
                    'w' => Duration::try_weeks(n)?,
                    'd' => Duration::try_days(n)?,
                    'h' => Duration::try_hours(n)?,
                    _ => Duration::try_minutes(n)?,
                };
                total = total.checked_add(&unit)?;
                digits.clear();
                groups += 1;
            }
            _ => return None,
        }
    }
    (groups > 0 && digits.is_empty()).then(|| total * sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn formats_like_jira_in_the_user_zone() {
        let t = utc("2024-01-15T10:30:00.123Z");
        assert_eq!(format(t, Tz::UTC), "2024-01-15T10:30:00.123+0000");
        assert_eq!(format(t, Tz::Europe__Berlin), "2024-01-15T11:30:00.123+0100");
    }

    #[test]
    fn parses_literals_in_the_user_zone() {
        let now = utc("2024-06-01T00:00:00Z");
        let berlin = Tz::Europe__Berlin;
        assert_eq!(parse_jql_date("2024-01-15 10:30", berlin, now), Some(utc("2024-01-15T09:30:00Z")));
        assert_eq!(parse_jql_date("2024/01/15 10:30", Tz::UTC, now), Some(utc("2024-01-15T10:30:00Z")));
        assert_eq!(parse_jql_date("2024-01-15", Tz::UTC, now), Some(utc("2024-01-15T00:00:00Z")));
        assert_eq!(parse_jql_date("1700000000000", Tz::UTC, now), DateTime::from_timestamp_millis(1_700_000_000_000));
        assert_eq!(parse_jql_date("-5d", Tz::UTC, now), Some(utc("2024-05-27T00:00:00Z")));
        assert_eq!(parse_jql_date("-1w 2d", Tz::UTC, now), Some(utc("2024-05-23T00:00:00Z")));
        assert_eq!(parse_jql_date("-30m", Tz::UTC, now), Some(utc("2024-05-31T23:30:00Z")));
    }

    #[test]
    fn rejects_malformed_literals() {
        let now = Utc::now();
        for bad in ["2024-13-01", "15/01/2024", "2024-01-15 10:30:15", "yesterday", "-5x", "-", ""] {
            assert_eq!(parse_jql_date(bad, Tz::UTC, now), None, "{bad}");
        }
    }
}
