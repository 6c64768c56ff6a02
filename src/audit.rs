//! The dry-run audit: classify every open item of the mirror and build the report. Writes nothing to
//! any tracker.
//!
//! Judging is the costly part and is pure, so it runs on every core ([`crate::parallel::map_in_order`]):
//! one thread reads the mirror's stored items, workers decode and judge each open item and keep of it
//! only what is added up (the report's counts and rows, the moves it plans as the cap reads them, its
//! words for the storm detector), and the calling thread adds them up in the mirror's order. The
//! report is the same whatever the number of cores.

use chrono::{SecondsFormat, Utc};
use twotrack_api::Item;

use crate::classify::{Action, Classifier, RulesError, Site};
use crate::config::Config;
use crate::mirror::{Mirror, MirrorError, Stored};
use crate::outbox::{ApplyPlan, Capped, Outbox, OutboxError, cap, storm_corrections};
use crate::plan::{Correction, ItemKeys, Planner};
use crate::report::storm::FoundStorm;
use crate::report::{Judged, Report, ReportBuilder};
use crate::storm::{Detector, Reading, Storm, largest_stated, prioritise, propose_parent};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error("the classification rules are invalid: {0}")]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(transparent)]
    Report(#[from] crate::report::RenderError),
}

/// Build the classifier the configuration describes.
pub fn classifier(config: &Config) -> Result<Classifier, RulesError> {
    Classifier::new(&config.rules, &config.queues, &config.priority)
}

/// The phases of an audit, as a progress display names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Every item of the mirror read to learn the site.
    Learning,
    /// The site model fitted to what was read.
    Fitting,
    /// The open items judged (every item of the audited trackers is read).
    Judging,
    /// The storms looked for among the open items.
    Storms,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Learning => "learning the site",
            Phase::Fitting => "fitting the site",
            Phase::Judging => "judging",
            Phase::Storms => "finding storms",
        }
    }
}

/// Where an audit has got, for a progress bar on a terminal: each phase begins (with the items it
/// reads, where the mirror's count says), advances by the items read, and ends before anything is
/// logged. The audit itself draws nothing: [`Quiet`] shows nothing.
pub trait Progress: Sync {
    fn begin(&self, phase: Phase, items: Option<u64>);
    fn advance(&self, items: u64);
    fn end(&self);
}

/// Progress shown nowhere (the daemon, tests, a standard error that is no terminal).
pub struct Quiet;

impl Progress for Quiet {
    fn begin(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// `items`, advancing `progress` as they are read (in batches: a progress bar needs no more), and
/// beginning phase `then` once they are all read.
pub(crate) fn counted<'p, T>(
    items: impl Iterator<Item = T> + 'p,
    progress: &'p dyn Progress,
    then: Option<Phase>,
) -> impl Iterator<Item = T> + 'p {
    const BATCH: u64 = 1024;
    let mut read = 0u64;
    let mut then = then;
    let mut items = items.fuse();
    std::iter::from_fn(move || {
        let next = items.next();
        if next.is_some() {
            read += 1;
        }
        if read == BATCH || (next.is_none() && read > 0) {
            progress.advance(std::mem::take(&mut read));
        }
        if next.is_none()
            && let Some(phase) = then.take()
        {
            progress.begin(phase, None);
        }
        next
    })
}

/// A site learned by `learn` from `items` (`total` of them), telling `progress` as they are read and
/// while the model is fitted.
pub fn learning<T, S, E>(
    total: u64,
    items: impl Iterator<Item = T> + Send,
    progress: &dyn Progress,
    learn: impl FnOnce(&mut (dyn Iterator<Item = T> + Send + '_)) -> Result<S, E>,
) -> Result<S, E> {
    progress.begin(Phase::Learning, Some(total));
    let mut items = counted(items, progress, Some(Phase::Fitting));
    let site = learn(&mut items);
    progress.end();
    site
}

/// Learn the site from every item of the mirror (see [`crate::plan::learn_site`]).
pub fn learn_site(config: &Config, mirror: &Mirror, classifier: &Classifier) -> Result<Site, MirrorError> {
    learn_site_with(config, mirror, classifier, &Quiet)
}

/// [`learn_site`], telling `progress` how far it has read.
pub fn learn_site_with(
    config: &Config,
    mirror: &Mirror,
    classifier: &Classifier,
    progress: &dyn Progress,
) -> Result<Site, MirrorError> {
    let moves = crate::outbox::moves(mirror, &config.policy.returns)?;
    let site = learning(mirror.stored_count()?, mirror.stored(None), progress, |items| {
        crate::plan::learn_site_with_moves(config, classifier, items, &moves)
    })?;
    match site.model.abstains() {
        Some(why) => tracing::info!(reason = why, "site model abstains: nothing will move, items are only reviewed"),
        None => {
            let (backlog, queue) = site.model.counts();
            tracing::debug!(backlog, queue, folds = site.model.folds(), "site model learned");
        }
    }
    Ok(site)
}

/// Audit the mirror (optionally one tracker) and return the report.
pub fn audit(config: &Config, mirror: &Mirror, tracker: Option<&str>) -> Result<Report, AuditError> {
    audit_with(config, mirror, tracker, &Quiet)
}

/// [`audit`], telling `progress` how far it has got.
pub fn audit_with(
    config: &Config,
    mirror: &Mirror,
    tracker: Option<&str>,
    progress: &dyn Progress,
) -> Result<Report, AuditError> {
    let classifier = classifier(config)?;
    let site = learn_site_with(config, mirror, &classifier, progress)?;
    let planner =
        Planner::new(config, &classifier, &site).with_moves(crate::outbox::moves(mirror, &config.policy.returns)?);
    let mut builder = ReportBuilder::new(&planner, Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    // The moves as `apply` would plan them, to tell how many its cap leaves for later cycles: each as
    // the cap reads it, and per tracker the open items and the rules behind the moves (for the circuit
    // breaker).
    let mut planned: Vec<Capped> = Vec::new();
    let mut tally = ApplyPlan::default();
    // Only what finding storms needs, per open item: the members' text is read back at the end.
    let mut detector = Detector::lean(&config.storm);
    detector.expect(site.model.items_read());
    let storms_on = config.storm.enabled;
    let outbox = Outbox::open(mirror)?;
    let judge = |item: Stored| judge(&planner, &outbox, item, storms_on);
    // Every item of the audited trackers is read (the closed ones are passed over): counted whole only
    // for the whole mirror, whose count is kept.
    progress.begin(Phase::Judging, if tracker.is_none() { Some(mirror.stored_count()?) } else { None });
    let items = counted(mirror.stored(tracker), progress, None);
    let judged = crate::parallel::map_in_order(items, crate::parallel::workers(), judge, |judged| {
        let Assessed { report, planned: moves, words } = judged?;
        if let Some((words, urgency)) = words {
            detector.add_read(words, urgency);
        }
        // Counted by the name the item carries, copied once per tracker (not once per item).
        if let Some(n) = tally.open_items.get_mut(report.tracker()) {
            *n += 1;
        } else {
            tally.open_items.insert(report.tracker().to_string(), 1);
        }
        for (capped, drivers) in moves {
            tally.count_drivers(&capped.tracker, drivers);
            planned.push(capped);
        }
        builder.add_judged(report);
        Ok::<(), AuditError>(())
    });
    progress.end();
    judged?;
    tracing::debug!(open = tally.open_items.values().sum::<usize>(), moves = planned.len(), "open items judged");
    // A storm's reports are gathered under one parent, not moved one by one: one correction each.
    progress.begin(Phase::Storms, None);
    let detected = detector.finish_reading(|tracker, key| mirror.get(tracker, key));
    progress.end();
    let detected = detected?;
    let (gathered, covered) = storm_corrections(config, mirror, &planner, &detected, |_, _| true)?;
    planned.retain(|c| !covered.contains(&c.tracker, &c.key));
    for c in &gathered {
        planned.push(Capped::of(c, &outbox)?);
    }
    // In apply's order, the most confident first: the cap keeps the first.
    planned.sort_by(Capped::in_order);
    let counted: Vec<(&str, bool)> = planned.iter().map(|c| (&*c.tracker, c.is_new)).collect();
    let refusal = match cap(config, &tally.open_items, &tally.drivers, &counted) {
        Ok(kept) => {
            let mut waiting = ItemKeys::default();
            for (c, _) in planned.iter().zip(kept).filter(|(_, kept)| !kept) {
                waiting.insert(&c.tracker, &c.key);
            }
            builder.moves_waiting(waiting);
            None
        }
        Err(e) if e.is_refusal() => Some(e),
        Err(e) => return Err(e.into()),
    };
    let found = storms(config, mirror, &classifier, detected)?;
    if !found.is_empty() {
        tracing::info!(storms = found.len(), "storms found: many reports of one event each");
    }
    builder.storms(&found);
    let mut report = builder.finish()?;
    tracing::debug!(findings = report.findings.len(), storms = found.len(), "report built");
    report.totals.parked = outbox.parked_from(tracker)? as u64;
    if let Some(refusal) = refusal {
        report.notes.push(format!("apply would refuse this cycle: {refusal}"));
    }
    for note in &report.notes {
        tracing::warn!("{note}");
    }
    Ok(report)
}

/// What would be done about each storm: the parent its reports would be gathered under (a new incident
/// in the first service queue), and
/// its priority from its reach (the largest count of affected people a report states, as the
/// classifier's counter reads it, against the distinct reporters).
fn storms(
    config: &Config,
    mirror: &Mirror,
    classifier: &Classifier,
    storms: Vec<Storm>,
) -> Result<Vec<FoundStorm>, MirrorError> {
    let service =
        config.trackers.iter().find(|t| t.role == twotrack_api::TrackerRole::Service).map(|t| t.name.as_str());
    storms
        .into_iter()
        .map(|storm| {
            let stated = largest_stated(&storm, |m| {
                Ok::<_, MirrorError>(mirror.get(&m.tracker, &m.key)?.and_then(|item| classifier.affected_count(&item)))
            })?;
            let priority = prioritise(&storm, stated, &config.storm, &config.priority);
            let parent = propose_parent(service);
            Ok(FoundStorm { storm, parent, priority })
        })
        .collect()
}

/// An open item judged, as the audit adds it up: what the report keeps of it, the moves it plans as
/// `apply`'s cap reads them (each with the rules that drive it, for the circuit breaker), and its words
/// for the storm detector with its urgency (none for a twin: it repeats its original). All of it is
/// worked out on the workers, where the item is dropped; the calling thread only adds it up, in order.
struct Assessed {
    report: Judged,
    planned: Vec<(Capped, Vec<String>)>,
    words: Option<(Reading, Option<u8>)>,
}

/// Judge one item of the mirror (`None` for a closed one: the audit is about open work).
fn judge(planner: &Planner<'_>, outbox: &Outbox, item: Stored, storms: bool) -> Option<Result<Assessed, AuditError>> {
    let item = match item.decode() {
        Ok(item) if !item.open => return None,
        Ok(item) => item,
        Err(e) => return Some(Err(e.into())),
    };
    let a = planner.assess(item)?;
    let findings = planner.findings(&a);
    let mut planned = Vec::new();
    for f in findings.iter().filter(|f| f.action == Action::Move && matches!(f.correction, Some(Correction::Move(_)))) {
        match Capped::with_drivers(f, outbox) {
            Ok(capped) => planned.extend(capped),
            Err(e) => return Some(Err(e.into())),
        }
    }
    let words = (storms && a.item.origin.is_none()).then(|| (Reading::of(&a.item), a.verdict.urgency));
    let report = Judged::of(&a, &findings, planner.config)?;
    Some(Ok(Assessed { report, planned, words }))
}

/// How `explain` judges items: the pieces the audit uses, whether from a configuration or from the
/// built-in defaults.
pub struct Explainer<'a> {
    pub classifier: &'a Classifier,
    /// The site learned from the whole mirror, as the audit learns it.
    pub site: &'a Site,
    /// The audit's planner, when there is a configuration: it says what the audit reports.
    pub planner: Option<&'a Planner<'a>>,
    pub moves: crate::classify::fuse::MovePolicy,
    pub matrix: &'a crate::classify::PriorityMatrix,
    /// The role of a tracker, by name.
    pub role: &'a dyn Fn(&str) -> Option<twotrack_api::TrackerRole>,
}

impl Explainer<'_> {
    /// What `explain` prints about `items` (the items of one key): the text, or one JSON line each.
    pub fn explain(&self, items: &[Item], json: bool) -> String {
        use crate::report::verdict::{VerdictLine, explanation};
        let mut out = Vec::new();
        for item in items {
            let role = (self.role)(&item.tracker);
            let judged = role.map(|role| self.site.judge(self.classifier, item, role, self.moves));
            let (verdict, placement) = match judged {
                Some((verdict, placement)) => (verdict, Some(placement)),
                None => (self.classifier.classify(item), None),
            };
            if json {
                let line = match (role, &placement) {
                    (Some(role), Some(p)) => VerdictLine::judged(&item.key, &verdict, role, p),
                    _ => VerdictLine::by_text(&item.key, &verdict, verdict.class.home()),
                };
                // Writing into memory cannot fail.
                let _ = line.write(&mut out);
            } else {
                let filed = role.zip(placement.as_ref());
                // What the audit reports about the item: its findings, or why it is exempt.
                let assessed = self.planner.and_then(|p| p.assess(item.clone()).map(|a| (p.findings(&a), a.exempt)));
                out.extend(explanation(item, &verdict, filed, assessed.as_ref(), self.matrix).into_bytes());
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// `explain` with a configuration: the items of the mirror with `key` (in any tracker), judged as the
/// audit judges them, telling `progress` how far learning the site has got. `None` when the mirror
/// holds no such item.
pub fn explain(
    config: &Config,
    mirror: &Mirror,
    key: &str,
    json: bool,
    progress: &dyn Progress,
) -> Result<Option<String>, AuditError> {
    let items = mirror.find(key)?;
    if items.is_empty() {
        return Ok(None);
    }
    let classifier = classifier(config)?;
    let site = learn_site_with(config, mirror, &classifier, progress)?;
    let planner =
        Planner::new(config, &classifier, &site).with_moves(crate::outbox::moves(mirror, &config.policy.returns)?);
    let role =
        |tracker: &str| config.tracker(tracker).map(|t| t.role).or_else(|| crate::classify::role_of_name(tracker));
    let explainer = Explainer {
        classifier: &classifier,
        site: &site,
        planner: Some(&planner),
        moves: config.policy.moves(),
        matrix: &config.priority,
        role: &role,
    };
    Ok(Some(explainer.explain(&items, json)))
}

/// What tests of progress share: a recording of the phases told, and a small mirror.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A phase told of: its total, the items it advanced by, and whether it was ended.
    pub(crate) type Told = (Phase, Option<u64>, u64, bool);

    /// What an audit (or a plan) told of its progress, phase by phase.
    #[derive(Default)]
    pub(crate) struct Recorded(pub(crate) std::sync::Mutex<Vec<Told>>);

    impl Progress for Recorded {
        fn begin(&self, phase: Phase, items: Option<u64>) {
            self.0.lock().unwrap().push((phase, items, 0, false));
        }
        fn advance(&self, items: u64) {
            self.0.lock().unwrap().last_mut().expect("advanced before any phase began").2 += items;
        }
        fn end(&self) {
            self.0.lock().unwrap().last_mut().expect("ended before any phase began").3 = true;
        }
    }

    /// What reading the whole mirror of `items` to learn the site, then to judge, tells.
    pub(crate) fn whole_mirror(items: u64) -> [Told; 4] {
        [
            (Phase::Learning, Some(items), items, false),
            (Phase::Fitting, None, 0, true),
            (Phase::Judging, Some(items), items, true),
            (Phase::Storms, None, 0, true),
        ]
    }

    /// A mirror of `jira` product items and `servicenow` service ones.
    pub(crate) fn mirror_of(jira: usize, servicenow: usize) -> Mirror {
        let mirror = Mirror::temporary().unwrap();
        for i in 0..jira {
            mirror.upsert_item(&Item::new("jira", format!("SHOP-{i}"), "Checkout total wrong")).unwrap();
        }
        for i in 0..servicenow {
            mirror.upsert_item(&Item::new("servicenow", format!("INC{i}"), "Reset my password")).unwrap();
        }
        mirror
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Recorded, mirror_of, whole_mirror};
    use super::*;

    #[test]
    fn an_audit_tells_its_phases_with_the_items_each_reads() {
        let config = crate::config::two_trackers_for_test();
        // More items than one batch of progress, and not a multiple of it.
        let mirror = mirror_of(1500, 700);
        let progress = Recorded::default();
        let quiet = audit(&config, &mirror, None).unwrap();
        let told = audit_with(&config, &mirror, None, &progress).unwrap();
        assert_eq!(told.totals.open_items, quiet.totals.open_items);
        // Learning reads every item, then the model is fitted; judging reads every item again.
        assert_eq!(*progress.0.lock().unwrap(), whole_mirror(2200));
        // One tracker: the mirror keeps no count of it, and only its items are read to judge.
        let progress = Recorded::default();
        audit_with(&config, &mirror, Some("servicenow"), &progress).unwrap();
        assert_eq!(progress.0.lock().unwrap()[2], (Phase::Judging, None, 700, true));
    }

    #[test]
    fn an_item_the_mirror_cannot_decode_fails_the_audit_with_the_mirrors_error() {
        let config = crate::config::two_trackers_for_test();
        let mirror = mirror_of(50, 50);
        assert!(audit(&config, &mirror, None).is_ok());
        mirror.damage_item_for_test("servicenow", "INC7");
        // Decoded on a worker, and still the audit's error: never a skipped item or a panic.
        for tracker in [None, Some("servicenow")] {
            let err = audit(&config, &mirror, tracker).expect_err("the audit fails");
            assert!(matches!(err, AuditError::Mirror(MirrorError::Corrupt { what: "item", .. })), "{err:?}");
        }
    }
}
