//! The pure part of the writer lease: what a heartbeat found in a tracker means, and who won a claim.
//! Every function takes the time it judges at, so the rules are tested with explicit clocks.

use chrono::{DateTime, Utc};
use twotrack_api::connector::WriterBeat;

/// What a heartbeat read from one tracker means to the instance `me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// No heartbeat, or one released on a clean exit.
    Free,
    /// This instance's own heartbeat (an earlier run of the same mirror, or this run's claim).
    Mine,
    /// Another instance's heartbeat, older than its TTL: it may be taken over.
    Stale(WriterBeat),
    /// Another instance's fresh heartbeat: it writes, this one must not.
    Held(WriterBeat),
}

/// When `beat` stops being fresh.
pub fn expires(beat: &WriterBeat) -> DateTime<Utc> {
    i64::try_from(beat.ttl_seconds)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|ttl| beat.beat.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What the heartbeat `found` in a tracker means for the instance `me` at `now`.
pub fn judge(found: Option<&WriterBeat>, me: &str, now: DateTime<Utc>) -> Seen {
    match found {
        None => Seen::Free,
        Some(b) if b.released => Seen::Free,
        Some(b) if b.instance == me => Seen::Mine,
        Some(b) if expires(b) <= now => Seen::Stale(b.clone()),
        Some(b) => Seen::Held(b.clone()),
    }
}

/// The order of competing claims: the earliest claim first, the instance id breaking a tie.
fn rank(beat: &WriterBeat) -> (DateTime<Utc>, &str) {
    (beat.claimed, beat.instance.as_str())
}

/// What a claim's read-back (one heartbeat per tracker, after the claim was written everywhere) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Every tracker shows `mine` (or nothing fresh of another): the claim holds.
    Won,
    /// Another instance's fresh claim ranks before `mine`: it writes, this one backs off.
    Lost(WriterBeat),
    /// Claims raced and some trackers kept another's later claim: `mine` ranks first, so it is written
    /// again in those trackers (indices into the read-back) and read back once more.
    Rewrite(Vec<usize>),
}

/// Decide a claim from the heartbeats read back after writing `mine` into every tracker.
pub fn decide(read_back: &[Option<WriterBeat>], mine: &WriterBeat, now: DateTime<Utc>) -> Claim {
    let foreign: Vec<(usize, WriterBeat)> = read_back
        .iter()
        .enumerate()
        .filter_map(|(i, found)| match judge(found.as_ref(), &mine.instance, now) {
            Seen::Held(other) => Some((i, other)),
            Seen::Free | Seen::Mine | Seen::Stale(_) => None,
        })
        .collect();
    match foreign.iter().min_by(|a, b| rank(&a.1).cmp(&rank(&b.1))) {
        None => Claim::Won,
        Some((_, first)) if rank(first) < rank(mine) => Claim::Lost(first.clone()),
        Some(_) => Claim::Rewrite(foreign.into_iter().map(|(i, _)| i).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(sec: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + chrono::Duration::seconds(i64::from(sec))
    }

    fn beat(instance: &str, claimed: u32, last: u32) -> WriterBeat {
        WriterBeat {
            instance: instance.into(),
            host: format!("{instance}.example"),
            pid: 7,
            started: at(0),
            claimed: at(claimed),
            beat: at(last),
            ttl_seconds: 60,
            released: false,
        }
    }

    #[test]
    fn a_heartbeat_is_fresh_for_its_ttl_then_stale() {
        let other = beat("b", 0, 100);
        assert_eq!(expires(&other), at(160));
        assert_eq!(judge(Some(&other), "a", at(159)), Seen::Held(other.clone()));
        assert_eq!(judge(Some(&other), "a", at(160)), Seen::Stale(other.clone()));
        assert_eq!(judge(Some(&other), "b", at(120)), Seen::Mine, "an instance's own heartbeat is its own");
        assert_eq!(judge(Some(&other), "b", at(900)), Seen::Mine, "even stale");
        assert_eq!(judge(None, "a", at(0)), Seen::Free);
        let released = WriterBeat { released: true, ..other };
        assert_eq!(judge(Some(&released), "a", at(101)), Seen::Free, "a released heartbeat frees at once");
    }

    #[test]
    fn a_huge_ttl_does_not_overflow() {
        let forever = WriterBeat { ttl_seconds: u64::MAX, ..beat("b", 0, 0) };
        assert_eq!(judge(Some(&forever), "a", at(1_000_000)), Seen::Held(forever.clone()));
    }

    #[test]
    fn a_claim_holds_when_every_tracker_shows_it() {
        let mine = beat("a", 10, 10);
        assert_eq!(decide(&[Some(mine.clone()), Some(mine.clone())], &mine, at(11)), Claim::Won);
        // A stale or released heartbeat of another left in a tracker does not contest the claim.
        let stale = beat("b", 0, 0);
        let released = WriterBeat { released: true, ..beat("c", 0, 10) };
        assert_eq!(decide(&[Some(stale), Some(released), None], &mine, at(61)), Claim::Won);
    }

    #[test]
    fn the_earliest_claim_wins_a_race() {
        let early = beat("b", 10, 10);
        let late = beat("a", 11, 11);
        // The later claim landed last everywhere: the earlier claimant still wins.
        let read = [Some(late.clone()), Some(late.clone())];
        assert_eq!(decide(&read, &early, at(12)), Claim::Rewrite(vec![0, 1]));
        // Trackers disagree (each kept a different last write): both sides reach the same verdict.
        let split = [Some(early.clone()), Some(late.clone())];
        assert_eq!(decide(&split, &early, at(12)), Claim::Rewrite(vec![1]));
        assert_eq!(decide(&split, &late, at(12)), Claim::Lost(early.clone()));
        // Claims at the same instant: the lower instance id wins.
        let twin = beat("c", 10, 10);
        assert_eq!(decide(&[Some(twin.clone())], &early, at(12)), Claim::Rewrite(vec![0]));
        assert_eq!(decide(&[Some(early.clone())], &twin, at(12)), Claim::Lost(early));
    }
}
