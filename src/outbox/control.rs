//! Parking, and what an operator does with the outbox (`twotrack outbox list | retry | cancel`).
//!
//! A correction that failed `policy.max_attempts` runs in a row (an impossible target, a close state its
//! table lacks) is **parked** with its last error: apply and the daemon no longer attempt it, so it stops
//! failing every run, and it waits for an operator. One run is one call of [`super::execute`]; the quick
//! retries inside a run (a timeout, a 503) do not count on their own.
//!
//! | state | `retry` | `cancel` |
//! |---|---|---|
//! | pending | unchanged | cancelled, if it wrote nothing yet (below) |
//! | parked | pending, with a fresh count of attempts | cancelled, if it wrote nothing yet |
//! | cancelled | pending again (re-armed) | unchanged |
//! | dropped | refused: it is planned again by itself if its source changes | unchanged |
//! | done | refused | refused |
//!
//! Cancelling must never leave half a move. A move has written nothing while it has no twin and no create
//! in flight: before step (c) of the saga only reads happened. Once a twin exists (created or adopted) or a
//! create was sent without a known outcome ([`super::Progress::create_sent`]), cancelling would leave a
//! twin beside an open original, so it is refused, naming the safe way to stop the move: the keep label on
//! the original, which the saga checks before it tells the reporter or closes anything. A reroute or a
//! reprioritisation is one idempotent update: cancelling it while pending or parked is always safe.
//!
//! Every change is written to the item's audit log in the same transaction (`twotrack history KEY`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::saga::entry;
use super::{Correction, Outbox, Planned2, State};
use crate::mirror::MirrorError;

/// A state's name, as `outbox list --state` takes it; ordered by how much it needs an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StateName {
    Parked,
    Pending,
    Cancelled,
    Dropped,
    Done,
}

impl StateName {
    pub fn as_str(self) -> &'static str {
        match self {
            StateName::Parked => "parked",
            StateName::Pending => "pending",
            StateName::Cancelled => "cancelled",
            StateName::Dropped => "dropped",
            StateName::Done => "done",
        }
    }
}

impl State {
    pub fn name(&self) -> StateName {
        match self {
            State::Pending => StateName::Pending,
            State::Done { .. } => StateName::Done,
            State::Dropped { .. } => StateName::Dropped,
            State::Parked { .. } => StateName::Parked,
            State::Cancelled { .. } => StateName::Cancelled,
        }
    }

    /// When the correction entered this state (`None` for pending).
    pub fn since(&self) -> Option<DateTime<Utc>> {
        match self {
            State::Pending => None,
            State::Done { at } | State::Dropped { at, .. } | State::Parked { at, .. } | State::Cancelled { at, .. } => {
                Some(*at)
            }
        }
    }
}

/// What a retry or a cancel did to one correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The state changed, and the audit log says so.
    Changed { from: StateName, to: StateName },
    /// Nothing to do (cancelling a cancelled correction, retrying a pending one): why.
    Unchanged(String),
}

/// Why an operator's command did not change a correction.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("there is no correction {id:?} in the outbox{hint}; `twotrack outbox list` shows every correction's id")]
    Unknown { id: String, hint: String },
    #[error("{id} cannot be {action}: {why}")]
    Refused { id: String, action: &'static str, why: String },
    #[error(transparent)]
    Mirror(#[from] MirrorError),
}

/// A transition's result: the outcome and the audit-log detail of a change, or why it is refused.
type Transition = Result<(Outcome, Option<String>), String>;

impl Correction {
    /// Record a failed run with its error; park the correction if this was its `max_attempts`-th failed
    /// run in a row. Returns whether it was parked now.
    pub fn fail(&mut self, error: &str, max_attempts: u32, now: DateTime<Utc>) -> bool {
        self.attempts = self.attempts.saturating_add(1);
        self.last_error = Some(error.to_string());
        let park = self.state == State::Pending && self.attempts >= max_attempts;
        if park {
            self.state = State::Parked { at: now, error: error.to_string() };
        }
        park
    }

    /// `source_tracker:source_key`.
    pub fn source(&self) -> String {
        format!("{}:{}", self.source_tracker, self.source_key)
    }

    /// Make a parked or cancelled correction pending again, with a fresh count of attempts. The saga
    /// resumes from the steps it recorded, and judges the source again as it is then.
    fn retry(&mut self) -> Transition {
        let from = self.state.name();
        let detail = match &self.state {
            State::Parked { error, .. } => {
                format!("retried by an operator after {} failed run(s); the last error: {error}", self.attempts)
            }
            State::Cancelled { reason, .. } => {
                format!(
                    "re-armed by an operator (it was cancelled{})",
                    reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
                )
            }
            State::Pending => {
                let why = format!(
                    "it is pending already ({} failed run(s) so far); the next `twotrack apply --yes` (or the \
                     daemon's apply job) carries it out",
                    self.attempts
                );
                return Ok((Outcome::Unchanged(why), None));
            }
            State::Done { at } => {
                return Err(format!("it is done already (at {}): there is nothing to retry", stamp(*at)));
            }
            State::Dropped { at, reason } => {
                return Err(format!(
                    "it was dropped at {} ({reason}). A dropped correction is not retried: twotrack plans it again by \
                     itself if {} changes and is still misfiled",
                    stamp(*at),
                    self.source()
                ));
            }
        };
        self.state = State::Pending;
        self.attempts = 0;
        self.last_error = None;
        Ok((Outcome::Changed { from, to: StateName::Pending }, Some(detail)))
    }

    /// Cancel a pending or parked correction that has written nothing yet (see the module docs).
    fn cancel(&mut self, now: DateTime<Utc>, reason: Option<&str>, keep_label: &str) -> Transition {
        let from = self.state.name();
        match &self.state {
            State::Pending | State::Parked { .. } => {}
            State::Cancelled { .. } => return Ok((Outcome::Unchanged("it is cancelled already".into()), None)),
            State::Dropped { reason, .. } => {
                let why = format!("it was dropped already ({reason}): it will not be carried out");
                return Ok((Outcome::Unchanged(why), None));
            }
            State::Done { at } => {
                let undo = match &self.action {
                    Planned2::Move { .. } => {
                        "; a move is undone by hand: reopen the original and resolve its twin (`twotrack history` \
                         names both)"
                    }
                    _ => "",
                };
                return Err(format!("it is done already (at {}){undo}", stamp(*at)));
            }
        }
        if let Some(why) = self.half_done(keep_label) {
            return Err(why);
        }
        self.state = State::Cancelled { at: now, reason: reason.map(str::to_string) };
        let detail = format!("cancelled by an operator{}", reason.map(|r| format!(": {r}")).unwrap_or_default());
        Ok((Outcome::Changed { from, to: StateName::Cancelled }, Some(detail)))
    }

    /// Why cancelling this move now would leave half a move, and how to stop it safely instead.
    fn half_done(&self, keep_label: &str) -> Option<String> {
        let Planned2::Move { target_tracker, .. } = &self.action else { return None };
        let (source, key) = (self.source(), &self.source_key);
        let retry = if self.state.name() == StateName::Parked {
            format!(", run `twotrack outbox retry {}`", self.id)
        } else {
            String::new()
        };
        let stop = format!(
            "To stop it safely, add the label {keep_label:?} to {source}{retry} and run `twotrack apply --yes`: \
             twotrack reads {key} again, leaves it open and records the move as dropped"
        );
        if let Some(twin) = &self.progress.twin {
            return Some(format!(
                "its twin {target_tracker}:{} exists already ({}); cancelling now would leave half a move, a twin \
                 beside an open original. {stop} (the twin stays for you to resolve)",
                twin.key, twin.url
            ));
        }
        if self.progress.create_sent {
            return Some(format!(
                "the create of its twin was sent to {target_tracker} and its outcome is not known, so a twin may \
                 exist; cancelling now could leave half a move. {stop} (a twin, if there is one, is adopted and \
                 stays for you to resolve)"
            ));
        }
        None
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

impl Outbox {
    /// Record a failed run of `id` (see [`Correction::fail`]) with its audit-log entry ("failed", or
    /// "parked"), then flush. Returns whether the correction is parked now.
    pub fn fail(&self, id: &str, error: &str, max_attempts: u32) -> Result<bool, MirrorError> {
        let now = Utc::now();
        let mut parked = false;
        self.records.update_and_log(id, &self.audit, |current: Option<Correction>| {
            let Some(mut c) = current else {
                parked = false;
                return (None, None);
            };
            parked = c.fail(error, max_attempts, now);
            let detail = if parked {
                format!(
                    "failed {} runs in a row (policy.max_attempts = {max_attempts}): parked, not attempted again \
                     until `twotrack outbox retry {}`; the last error: {error}",
                    c.attempts, c.id
                )
            } else {
                format!("failed run {} of at most {max_attempts}: {error}", c.attempts)
            };
            let e = entry(&c, if parked { "parked" } else { "failed" }, None, &detail);
            (Some(c), Some(e))
        })?;
        self.mirror.flush()?;
        Ok(parked)
    }

    /// Make a parked (or cancelled) correction pending again: the next apply carries it out.
    pub fn retry(&self, id: &str) -> Result<Outcome, ControlError> {
        self.control(id, "retried", "retried", Correction::retry)
    }

    /// Cancel a correction that has written nothing yet; `keep_label` is named in a refusal's advice.
    pub fn cancel(&self, id: &str, reason: Option<&str>, keep_label: &str) -> Result<Outcome, ControlError> {
        let now = Utc::now();
        self.control(id, "cancelled", "cancelled", |c| c.cancel(now, reason, keep_label))
    }

    /// How many corrections are parked.
    pub fn parked(&self) -> Result<usize, MirrorError> {
        self.parked_from(None)
    }

    /// How many corrections of items filed in `tracker` (all if `None`) are parked.
    pub fn parked_from(&self, tracker: Option<&str>) -> Result<usize, MirrorError> {
        let mut n = 0;
        for c in self.all() {
            let c = c?;
            n += usize::from(c.state.name() == StateName::Parked && tracker.is_none_or(|t| t == c.source_tracker));
        }
        Ok(n)
    }

    /// Apply an operator's transition to `id` and log it, atomically, then flush.
    fn control(
        &self,
        id: &str,
        action: &'static str,
        event: &str,
        transition: impl Fn(&mut Correction) -> Transition,
    ) -> Result<Outcome, ControlError> {
        let mut result = None;
        self.records.update_and_log(id, &self.audit, |current: Option<Correction>| {
            let Some(stored) = current else {
                result = None;
                return (None, None);
            };
            let mut c = stored.clone();
            let r = transition(&mut c);
            let (next, e) = match &r {
                Ok((_, Some(detail))) => {
                    let e = entry(&c, event, None, detail);
                    (c, Some(e))
                }
                _ => (stored, None),
            };
            result = Some(r);
            (Some(next), e)
        })?;
        self.mirror.flush()?;
        match result {
            None => Err(ControlError::Unknown { id: id.to_string(), hint: self.hint(id)? }),
            Some(Ok((outcome, _))) => Ok(outcome),
            Some(Err(why)) => Err(ControlError::Refused { id: id.to_string(), action, why }),
        }
    }

    /// " (did you mean ...?)" for an id that is not in the outbox: the corrections of an item given by its
    /// key, else the ids closest in spelling.
    fn hint(&self, id: &str) -> Result<String, MirrorError> {
        let mut ids = Vec::new();
        for c in self.all() {
            ids.push(c?);
        }
        let mut close: Vec<&str> =
            ids.iter().filter(|c| c.source_key.eq_ignore_ascii_case(id)).map(|c| c.id.as_str()).collect();
        if close.is_empty() {
            let wanted = id.to_ascii_lowercase();
            let limit = (id.len() / 4).max(2);
            let mut scored: Vec<(usize, &str)> = ids
                .iter()
                .map(|c| (strsim::levenshtein(&wanted, &c.id.to_ascii_lowercase()), c.id.as_str()))
                .filter(|(d, _)| *d <= limit)
                .collect();
            scored.sort();
            let best = scored.first().map_or(0, |(d, _)| *d);
            close = scored.into_iter().take_while(|(d, _)| *d == best).map(|(_, id)| id).collect();
        }
        close.truncate(3);
        Ok(if close.is_empty() { String::new() } else { format!(" (did you mean {}?)", close.join(" or ")) })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use twotrack_api::connector::{Created, NewItem};
    use twotrack_api::{Class, Kind};

    use super::*;
    use crate::mirror::Mirror;
    use crate::outbox::Progress;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, min, 0).unwrap()
    }

    fn a_move(key: &str) -> Correction {
        Correction {
            id: format!("move:servicenow:{key}"),
            created_at: at(0),
            source_tracker: "servicenow".into(),
            source_key: key.into(),
            source_updated: at(0),
            action: Planned2::Move {
                target_tracker: "jira".into(),
                class: Class::Value,
                kind: Kind::Feature,
                confidence: 0.97,
                new_item: Box::new(NewItem::new(Kind::Feature, "Share the wishlist")),
                source_note: "moved to {target_key}".into(),
                close_note: "moved".into(),
            },
            state: State::Pending,
            progress: Progress::default(),
            attempts: 0,
            last_error: None,
        }
    }

    fn a_reroute(key: &str) -> Correction {
        let action = Planned2::Reroute { queue: "network".into(), group: "Network".into(), note: "rerouted".into() };
        Correction { id: format!("reroute:servicenow:{key}"), action, ..a_move(key) }
    }

    fn twin() -> Created {
        Created { key: "SHOP-9".into(), id: "10009".into(), url: "https://jira/browse/SHOP-9".into() }
    }

    #[test]
    fn the_max_attempts_th_failed_run_in_a_row_parks_with_the_last_error() {
        let mut c = a_move("INC0010001");
        assert!(!c.fail("jira: Specify a valid issue type", 3, at(1)));
        assert!(!c.fail("jira: Specify a valid issue type", 3, at(2)));
        assert_eq!((c.state.name(), c.attempts), (StateName::Pending, 2));
        assert!(c.fail("jira: the project is archived", 3, at(3)));
        assert_eq!(c.state, State::Parked { at: at(3), error: "jira: the project is archived".into() });
        assert_eq!((c.attempts, c.last_error.as_deref()), (3, Some("jira: the project is archived")));
        // A parked correction is not parked again (its time and error stay those of the parking).
        assert!(!c.fail("later", 3, at(4)));
        assert_eq!(c.state.since(), Some(at(3)));
        // max_attempts = 1: the first failure parks.
        assert!(a_move("INC0010002").fail("boom", 1, at(1)));
    }

    #[test]
    fn retry_makes_a_parked_or_cancelled_correction_pending_with_a_fresh_count() {
        let mut c = a_move("INC0010001");
        c.progress.twin = Some(twin());
        c.fail("jira: not closed", 2, at(1));
        c.fail("jira: not closed", 2, at(2));
        let (outcome, detail) = c.retry().unwrap();
        assert_eq!(outcome, Outcome::Changed { from: StateName::Parked, to: StateName::Pending });
        let detail = detail.unwrap();
        assert!(detail.contains("after 2 failed run(s)") && detail.contains("jira: not closed"), "{detail}");
        assert_eq!((c.state.clone(), c.attempts, c.last_error.clone()), (State::Pending, 0, None));
        assert_eq!(c.progress.twin, Some(twin()), "the saga resumes from the steps it recorded");

        let mut c = a_move("INC0010002");
        c.cancel(at(1), Some("wrong call"), "keep").unwrap();
        let (outcome, detail) = c.retry().unwrap();
        assert_eq!(outcome, Outcome::Changed { from: StateName::Cancelled, to: StateName::Pending });
        assert!(detail.unwrap().contains("wrong call"));
    }

    #[test]
    fn retry_leaves_a_pending_one_and_refuses_done_and_dropped() {
        let mut c = a_move("INC0010001");
        c.fail("flaky", 5, at(1));
        let (outcome, detail) = c.retry().unwrap();
        assert!(matches!(outcome, Outcome::Unchanged(ref why) if why.contains("pending already (1 failed run(s)")));
        assert_eq!((detail, c.attempts), (None, 1));

        let mut done = a_move("INC0010002");
        done.state = State::Done { at: at(1) };
        assert!(done.retry().unwrap_err().contains("done already"));
        let mut dropped = a_move("INC0010003");
        dropped.state = State::Dropped { at: at(1), reason: "INC0010003 is closed".into() };
        let why = dropped.retry().unwrap_err();
        assert!(why.contains("INC0010003 is closed") && why.contains("plans it again by itself"), "{why}");
        assert_eq!(dropped.state.name(), StateName::Dropped);
    }

    #[test]
    fn cancel_takes_a_correction_that_wrote_nothing() {
        let mut pending = a_move("INC0010001");
        let (outcome, detail) = pending.cancel(at(5), None, "keep").unwrap();
        assert_eq!(outcome, Outcome::Changed { from: StateName::Pending, to: StateName::Cancelled });
        assert_eq!(detail.as_deref(), Some("cancelled by an operator"));
        assert_eq!(pending.state, State::Cancelled { at: at(5), reason: None });
        // Again: nothing to do.
        assert!(matches!(pending.cancel(at(6), None, "keep").unwrap().0, Outcome::Unchanged(_)));
        assert_eq!(pending.state.since(), Some(at(5)));

        // Parked at the create (the target rejected it: nothing was created).
        let mut parked = a_move("INC0010002");
        parked.fail("jira: Specify a valid issue type", 1, at(1));
        let (outcome, detail) = parked.cancel(at(2), Some("no such project"), "keep").unwrap();
        assert_eq!(outcome, Outcome::Changed { from: StateName::Parked, to: StateName::Cancelled });
        assert_eq!(detail.as_deref(), Some("cancelled by an operator: no such project"));

        // A reroute is one idempotent update: cancellable while pending, whatever happened before.
        let mut reroute = a_reroute("INC0010003");
        reroute.progress.create_sent = true;
        assert!(reroute.cancel(at(1), None, "keep").is_ok());
    }

    #[test]
    fn cancel_refuses_half_a_move_and_says_how_to_stop_it() {
        let mut with_twin = a_move("INC0010001");
        with_twin.progress.twin = Some(twin());
        with_twin.fail("servicenow: INC0010001 is still open", 1, at(1));
        let why = with_twin.cancel(at(2), None, "twotrack-keep").unwrap_err();
        for needle in [
            "twin jira:SHOP-9 exists already",
            "half a move",
            "add the label \"twotrack-keep\" to servicenow:INC0010001",
            "`twotrack outbox retry move:servicenow:INC0010001`",
            "`twotrack apply --yes`",
        ] {
            assert!(why.contains(needle), "{needle:?} in {why}");
        }
        assert_eq!(with_twin.state.name(), StateName::Parked, "a refusal changes nothing");

        let mut in_flight = a_move("INC0010002");
        in_flight.progress.create_sent = true;
        let why = in_flight.cancel(at(2), None, "twotrack-keep").unwrap_err();
        assert!(why.contains("outcome is not known") && why.contains("\"twotrack-keep\""), "{why}");
        assert!(!why.contains("outbox retry"), "a pending one needs no retry: {why}");
        assert_eq!(in_flight.state, State::Pending);

        let mut done = a_move("INC0010003");
        done.state = State::Done { at: at(1) };
        assert!(done.cancel(at(2), None, "keep").unwrap_err().contains("undone by hand"));
        let mut dropped = a_move("INC0010004");
        dropped.state = State::Dropped { at: at(1), reason: "closed".into() };
        assert!(matches!(dropped.cancel(at(2), None, "keep").unwrap().0, Outcome::Unchanged(_)));
    }

    #[test]
    fn the_outbox_records_each_transition_in_the_audit_log() {
        let mirror = Mirror::temporary().unwrap();
        let outbox = Outbox::open(&mirror).unwrap();
        let c = a_move("INC0010001");
        outbox.enqueue(&c).unwrap();
        assert!(!outbox.fail(&c.id, "jira: Specify a valid issue type", 2).unwrap());
        assert_eq!(outbox.parked().unwrap(), 0);
        assert!(outbox.fail(&c.id, "jira: Specify a valid issue type", 2).unwrap());
        assert_eq!(outbox.parked().unwrap(), 1);
        assert_eq!(outbox.retry(&c.id).unwrap(), Outcome::Changed { from: StateName::Parked, to: StateName::Pending });
        assert_eq!(outbox.parked().unwrap(), 0);
        assert_eq!(
            outbox.cancel(&c.id, Some("not ours"), "keep").unwrap(),
            Outcome::Changed { from: StateName::Pending, to: StateName::Cancelled }
        );
        let events: Vec<(String, String)> =
            outbox.history("INC0010001").unwrap().into_iter().map(|(_, e)| (e.event, e.detail)).collect();
        let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names, ["planned", "failed", "parked", "retried", "cancelled"], "{events:#?}");
        assert!(events[2].1.contains("policy.max_attempts = 2") && events[2].1.contains("valid issue type"));
        assert!(events[3].1.contains("the last error: jira: Specify a valid issue type"), "{events:#?}");

        // A refusal and a no-op write nothing to the log.
        let stored = outbox.get(&c.id).unwrap().unwrap();
        assert!(matches!(outbox.cancel(&c.id, None, "keep").unwrap(), Outcome::Unchanged(_)));
        assert_eq!(outbox.get(&c.id).unwrap().unwrap(), stored);
        assert_eq!(outbox.history("INC0010001").unwrap().len(), 5);
    }

    #[test]
    fn an_unknown_id_is_named_with_the_ids_it_may_mean() {
        let mirror = Mirror::temporary().unwrap();
        let outbox = Outbox::open(&mirror).unwrap();
        outbox.enqueue(&a_move("INC0010001")).unwrap();
        outbox.enqueue(&a_reroute("INC0010001")).unwrap();
        let by_key = outbox.retry("inc0010001").unwrap_err().to_string();
        assert!(by_key.starts_with("there is no correction \"inc0010001\" in the outbox (did you mean "), "{by_key}");
        assert!(by_key.contains("move:servicenow:INC0010001") && by_key.contains("reroute:servicenow:INC0010001"));
        let typo = outbox.cancel("move:servicenow:INC001001", None, "keep").unwrap_err().to_string();
        assert!(typo.contains("(did you mean move:servicenow:INC0010001?); `twotrack outbox list`"), "{typo}");
        let nothing = outbox.retry("bogus").unwrap_err();
        assert!(matches!(&nothing, ControlError::Unknown { hint, .. } if hint.is_empty()), "{nothing}");
        assert!(nothing.to_string().contains("`twotrack outbox list` shows every correction's id"));
        assert_eq!(outbox.all().count(), 2, "nothing was created");
    }
}
