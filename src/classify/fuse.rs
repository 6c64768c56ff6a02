//! Fusion: whether an item is misfiled where it sits, from three kinds of evidence.
//!
//! 1. the **rules** (the text alone): the evidence for the class the item's tracker does not hold
//!    (`away`) and for the class it holds (`here`);
//! 2. the **site layer** ([`super::site`]): the out-of-fold log-odds that the item's words are those of
//!    the other tracker on this site;
//! 3. the **prior**: how often this tracker's items are misfiled, estimated per tracker from the site
//!    itself (real trackers are mostly filed right; never 50/50).
//!
//! `P(misfiled) = sigmoid(b0 + b1 ln(1 + away) + b2 ln(1 + here) + b3 site + logit(prior))`.
//! The coefficients are a likelihood ratio fitted by logistic regression (with the true prior of
//! each site as an offset) on sites built from real tickets; they live in `config/fusion.toml`,
//! written by `cargo run --release --example eval -- --fit` (never typed in by hand). The prior of a
//! tracker is then estimated at run time by expectation-maximisation over its items (Saerens, Latinne
//! & Decaestecker, Neural Computation 2002): the share of its items that the evidence says are
//! misfiled, found as a fixed point.
//!
//! A move needs the rules and the site layer both to point away from where the item sits, and the
//! probability at or above the move threshold. Otherwise an item at or above the review threshold is
//! for a human; everything else stays.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use twotrack_api::{Class, TrackerRole};

use twotrack_api::Item;

use crate::parallel::Decode;

use super::route::{RouteEvidence, RouteLearner, RouteModel, RouteOptions};
use super::site::{Label, Read, SiteEvidence, SiteLearner, SiteModel, SiteOptions};
use super::{Action, Classifier, Reason, Subject, Verdict};

/// The confidence at which a misfiled item is moved, and at which it is flagged for review.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Move at or above this probability (and only when the rules and the site agree).
    #[serde(rename = "move_threshold")]
    pub move_at: f64,
    /// Ask a human at or above this probability.
    #[serde(rename = "review_threshold")]
    pub review_at: f64,
}

impl Thresholds {
    /// The defaults: a move must be right 19 times in 20 by the calibrated probability; an item with
    /// a one-in-three chance of being misfiled is worth a human's look.
    pub const DEFAULT: Thresholds = Thresholds { move_at: 0.95, review_at: 0.35 };
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::DEFAULT
    }
}

/// How sure a move must be, and whether the rules may move alone.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MovePolicy {
    pub thresholds: Thresholds,
    /// Where the site layer abstains, allow a move on the rules and the prior alone (for tiny or
    /// brand-new sites where an administrator accepts that risk; off by default).
    pub rules_may_move_alone: bool,
}

/// The fitted coefficients (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fusion {
    pub intercept: f64,
    pub rules_away: f64,
    pub rules_here: f64,
    pub site: f64,
}

/// The embedded coefficients, written by the evaluation example's `--fit`.
pub const FUSION_TOML: &str = include_str!("../../config/fusion.toml");

static FUSION: LazyLock<Fusion> = LazyLock::new(|| {
    // Not input: the embedded file is parsed by the test suite.
    toml::from_str(FUSION_TOML).expect("config/fusion.toml parses (checked by the tests)")
});

/// The prior used where a tracker's own could not be estimated (no items yet).
pub const DEFAULT_PRIOR: f64 = 0.05;
/// The range a tracker's estimated misfiling rate is kept in.
const PRIOR_RANGE: (f64, f64) = (0.005, 0.5);
/// The site layer's log-odds are clipped to this magnitude.
const SITE_CLIP: f64 = 8.0;

impl Fusion {
    /// The embedded coefficients.
    pub fn fitted() -> Fusion {
        *FUSION
    }

    /// The log-odds of "misfiled" without the prior.
    pub fn base_logit(&self, s: &Signals) -> f64 {
        let x = s.features();
        self.intercept + self.rules_away * x[1] + self.rules_here * x[2] + self.site * x[3]
    }

    /// P(misfiled) under `prior`.
    pub fn probability(&self, s: &Signals, prior: f64) -> f64 {
        sigmoid(self.base_logit(s) + logit(prior))
    }
}

/// The evidence about one item where it sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Rules evidence for the class the item's tracker does not hold.
    pub away: f64,
    /// Rules evidence for the class it holds.
    pub here: f64,
    /// The site layer's out-of-fold log-odds toward the other tracker; `None` when it abstains.
    pub site: Option<f64>,
}

impl Signals {
    pub fn new(verdict: &Verdict, sits: TrackerRole, site: Option<&SiteEvidence>) -> Signals {
        Signals::from_evidence(verdict.work, verdict.value, sits, site)
    }

    /// From the rules' evidence for Work and for Value.
    pub fn from_evidence(work: f64, value: f64, sits: TrackerRole, site: Option<&SiteEvidence>) -> Signals {
        let (away, here) = match sits.holds() {
            Class::Value => (work, value),
            Class::Work => (value, work),
        };
        let site = site.map(|s| match sits {
            TrackerRole::Product => s.service_logit,
            TrackerRole::Service => -s.service_logit,
        });
        Signals { away, here, site }
    }

    /// The regression's inputs: 1, ln(1 + away), ln(1 + here), the clipped site log-odds (0 when it
    /// abstains).
    pub fn features(&self) -> [f64; 4] {
        [
            1.0,
            self.away.max(0.0).ln_1p(),
            self.here.max(0.0).ln_1p(),
            self.site.unwrap_or(0.0).clamp(-SITE_CLIP, SITE_CLIP),
        ]
    }

    pub fn rules_point_away(&self) -> bool {
        self.away > self.here
    }

    pub fn site_points_away(&self) -> bool {
        self.site.is_some_and(|s| s > 0.0)
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// The misfiling rate of a tracker, as the fixed point of "the mean probability that an item is
/// misfiled, given this rate" (EM for a prior, starting from [`DEFAULT_PRIOR`]). `base` are the items'
/// log-odds without a prior.
pub fn estimate_prior(base: &[f64]) -> f64 {
    if base.is_empty() {
        return DEFAULT_PRIOR;
    }
    let mut prior = DEFAULT_PRIOR;
    for _ in 0..100 {
        let l = logit(prior);
        let next = base.iter().map(|b| sigmoid(b + l)).sum::<f64>() / base.len() as f64;
        let next = next.clamp(PRIOR_RANGE.0, PRIOR_RANGE.1);
        if (next - prior).abs() < 1e-6 {
            return next;
        }
        prior = next;
    }
    prior
}

/// What the evidence says about an item where it sits, and the action that follows.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The calibrated probability that the item is in the wrong tracker.
    pub p_misfiled: f64,
    pub action: Action,
    pub signals: Signals,
    /// The prior used (the tracker's estimated misfiling rate).
    pub prior: f64,
    /// The site's evidence and the decision, in words.
    pub reasons: Vec<Reason>,
}

/// The site as learned from a mirror: the site layer, each tracker's estimated misfiling rate, and
/// the routing its service queues' history teaches.
#[derive(Debug)]
pub struct Site {
    pub model: SiteModel,
    pub route: RouteModel,
    /// Tracker name -> (misfiling rate, open items it was estimated over).
    priors: HashMap<String, (f64, usize)>,
    fusion: Fusion,
    /// The assignment groups the service queues' items sit in (twins left out), by name as written,
    /// with how many items each holds.
    groups: BTreeMap<String, usize>,
}

impl Site {
    /// A site with nothing learned: the site layer and the routing abstain and every tracker has the
    /// default prior.
    pub fn unknown(why: &str) -> Site {
        Site {
            model: SiteModel::none(why),
            route: RouteModel::none(why),
            priors: HashMap::new(),
            fusion: Fusion::fitted(),
            groups: BTreeMap::new(),
        }
    }

    pub fn fusion(&self) -> &Fusion {
        &self.fusion
    }

    /// The assignment groups the service queues' items sit in, with how many items each holds.
    pub fn groups(&self) -> &BTreeMap<String, usize> {
        &self.groups
    }

    /// Learn a site from its items, in one pass: the site layer is trained on every item whose
    /// tracker has a `role`, labelled with that role (`decided` items, which a human decided about, as
    /// clean labels; closed originals whose twin exists, with an `origin` naming them, are left out:
    /// they sat in the wrong place), and each tracker's misfiling rate is estimated over its open items.
    /// The routing is learned from the service queues' items with an assignment group, open or closed
    /// (twins, which twotrack routed itself, left out).
    pub fn learn<E: Send>(
        classifier: &Classifier,
        options: SiteOptions,
        items: impl IntoIterator<Item = Result<Item, E>, IntoIter: Send>,
        role: impl Fn(&Item) -> Option<TrackerRole> + Sync,
        decided: impl Fn(&Item) -> bool + Sync,
    ) -> Result<Site, E> {
        let label = |item: &Item| if decided(item) { Label::Decided } else { Label::Sits };
        Site::learn_with(Fusion::fitted(), classifier, options, items, role, label)
    }

    /// [`Site::learn`] with each item's [`Label`] given: where it sits, or what a human decided about
    /// it (it belongs where it sits; it was sent back to the other role; not an example).
    pub fn learn_labelled<T: Decode<E>, E: Send>(
        classifier: &Classifier,
        options: SiteOptions,
        items: impl IntoIterator<Item = Result<T, E>, IntoIter: Send>,
        role: impl Fn(&Item) -> Option<TrackerRole> + Sync,
        label: impl Fn(&Item) -> Label + Sync,
    ) -> Result<Site, E> {
        Site::learn_with(Fusion::fitted(), classifier, options, items, role, label)
    }

    /// [`Site::learn`] with other fusion coefficients than the fitted ones (for measuring them on
    /// sites they were not fitted on).
    pub fn learn_with<T: Decode<E>, E: Send>(
        fusion: Fusion,
        classifier: &Classifier,
        options: SiteOptions,
        items: impl IntoIterator<Item = Result<T, E>, IntoIter: Send>,
        role: impl Fn(&Item) -> Option<TrackerRole> + Sync,
        label: impl Fn(&Item) -> Label + Sync,
    ) -> Result<Site, E> {
        let mut learner: SiteLearner<Known> = SiteLearner::new(options);
        let mut router = RouteLearner::new(RouteOptions {
            folds: options.folds,
            min_items: options.min_per_role,
            max_items: options.max_per_role,
            ..RouteOptions::default()
        });
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        let mut moved_away: HashSet<String> = HashSet::new();
        let mut trackers: Vec<String> = Vec::new();
        // Reading an item's text and the rules' evidence are pure and cost the most: they run on the
        // workers, the evidence only where the item may be trained on (all of them but on a big site:
        // the sampling thresholds, which only fall, are passed back after each item); everything the
        // learners count happens here, in the items' order, so the site is the same on any cores.
        let thresholds = [AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)];
        let read = |item: T| {
            let item = match item.decode() {
                Ok(item) => item,
                Err(e) => return Some(Err(e)),
            };
            let role = role(&item)?;
            let label = label(&item);
            let read = Read::of(&item.summary, &item.description);
            let now = [thresholds[0].load(Ordering::Relaxed), thresholds[1].load(Ordering::Relaxed)];
            let evidence =
                SiteLearner::<Known>::samples(now, &item.key, role, label).then(|| classifier.class_evidence(&item));
            Some(Ok(Learning::of(item, role, label, read, evidence)))
        };
        crate::parallel::map_in_order(items.into_iter(), crate::parallel::workers(), read, |next| {
            let item = next?;
            let (role, label, read) = (item.role, item.label, &item.read);
            let tracker = match trackers.iter().position(|t| *t == item.tracker) {
                Some(t) => t,
                None => {
                    trackers.push(item.tracker.clone());
                    trackers.len() - 1
                }
            };
            learner.add_read(&item.key, read, role, label, || {
                // Made on the worker wherever the item could be an example: the thresholds only fall,
                // so one the worker's thresholds left out is never an example here.
                let (work, value) = item.evidence.unwrap_or_default();
                Known {
                    tracker,
                    role,
                    signals: Signals::from_evidence(work, value, role, None),
                    open: item.open,
                    closed: (!item.open).then(|| item.key.clone()),
                }
            });
            for (side, threshold) in learner.thresholds().into_iter().enumerate() {
                thresholds[side].store(threshold, Ordering::Relaxed);
            }
            if role == TrackerRole::Service
                && item.origin.is_none()
                && let Some(group) = &item.queue
            {
                router.add_features(&item.key, read.features(), group);
                if !group.trim().is_empty() {
                    *groups.entry(group.trim().to_string()).or_default() += 1;
                }
            }
            if let Some(origin) = item.origin {
                moved_away.insert(origin);
            }
            Ok::<(), E>(())
        })?;
        learner.leave_out(|k| k.closed.as_ref().is_some_and(|key| moved_away.contains(key)));
        // The signals of every example with the site's out-of-fold log-odds, and each tracker's prior.
        let judge = |examples: &[Known], logits: &[f64]| {
            let signals: Vec<Signals> = examples
                .iter()
                .zip(logits)
                .map(|(k, &l)| Signals {
                    site: Some(match k.role {
                        TrackerRole::Product => l,
                        TrackerRole::Service => -l,
                    }),
                    ..k.signals
                })
                .collect();
            let mut priors = PriorEstimator::default();
            for (k, s) in examples.iter().zip(&signals) {
                if k.open {
                    priors.add(&trackers[k.tracker], &fusion, s);
                }
            }
            (signals, priors.finish())
        };
        let (model, logits, examples) = learner.fit_cleaned(|logits, examples| {
            // Leave out what the first round's evidence says is more likely misfiled than not.
            let (signals, priors) = judge(examples, logits);
            examples
                .iter()
                .zip(&signals)
                .enumerate()
                .filter(|(_, (k, s))| {
                    let prior = priors.get(&trackers[k.tracker]).map_or(DEFAULT_PRIOR, |p| p.0);
                    fusion.probability(s, prior) >= 0.5
                })
                .map(|(i, _)| i)
                .collect()
        });
        let rules_only = || {
            let mut priors = PriorEstimator::default();
            for k in examples.iter().filter(|k| k.open) {
                priors.add(&trackers[k.tracker], &fusion, &k.signals);
            }
            priors.finish()
        };
        let mut model = model;
        let priors = match logits {
            Some(logits) => match inverted(examples.iter().map(|k| (k.role, &k.signals)), &logits) {
                Some(why) => {
                    model.withdraw(why);
                    rules_only()
                }
                None => judge(&examples, &logits).1,
            },
            None => rules_only(),
        };
        Ok(Site { model, route: router.fit(), priors, fusion, groups })
    }

    /// Judge an item sitting in a tracker of role `sits`: the verdict says where it belongs by all the
    /// evidence (for a move or a review, the class of the other tracker; for an item that stays, the
    /// class of its own, its kind, queue and priority following within that class), with the
    /// probability of that as its confidence and the site's reasons first.
    pub fn judge(
        &self,
        classifier: &Classifier,
        item: &Item,
        sits: TrackerRole,
        policy: MovePolicy,
    ) -> (Verdict, Placement) {
        let home = sits.holds();
        // The class the item belongs to by all the evidence, and the verdict as that class.
        let (mut verdict, (belongs, mut placement)) = classifier.classify_settled(item, |verdict| {
            let placement = self.place(item, sits, verdict, policy);
            let belongs = if placement.action == Action::Keep { home } else { home.other() };
            (belongs, (belongs, placement))
        });
        let p = placement.p_misfiled;
        verdict.confidence = if belongs == home { 1.0 - p } else { p };
        // The decision and the site model's view first, then the rules' evidence, the prior last: a
        // report that shows the first few reasons shows both layers.
        let mut site = std::mem::take(&mut placement.reasons);
        let prior = site.split_off(site.len().min(2));
        verdict.reasons.splice(0..0, site);
        verdict.reasons.extend(prior);
        (verdict, placement)
    }

    /// A tracker's estimated misfiling rate and the items it was estimated over.
    pub fn prior(&self, tracker: &str) -> (f64, usize) {
        self.priors.get(tracker).copied().unwrap_or((DEFAULT_PRIOR, 0))
    }

    /// What the site's routing history says about a service item (`None` where routing was not
    /// learned: the `[[queue]]` rules route then).
    pub fn routing(&self, item: &Item) -> Option<RouteEvidence> {
        self.route.score(&item.key, &item.summary, &item.description, item.queue.as_deref())
    }

    /// The routing evidence about `item` in words, the words behind it for an item a human will look at.
    pub fn route_reason(&self, item: &Item, e: &RouteEvidence, action: Action) -> Reason {
        let current = item.queue.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let mut text = format!("{:.2} {}", e.p, e.group);
        match (current, e.p_current) {
            (Some(c), _) if e.is_current(Some(c)) => {}
            (Some(c), Some(p)) => text.push_str(&format!("; here in {c} ({p:.2})")),
            (Some(c), None) => text.push_str(&format!("; here in {c}, a group with too little history to judge")),
            (None, _) => text.push_str("; here unassigned"),
        }
        text.push_str(&format!(
            " ({}-fold, {} routed items in {} groups)",
            self.route.folds(),
            self.route.routed(),
            self.route.groups().len()
        ));
        if action != Action::Keep {
            let against = current.filter(|c| self.route.knows(c));
            for (word, to, from) in self.route.words(&item.key, &item.summary, &item.description, &e.group, against) {
                match (against, from) {
                    (Some(c), Some(n)) => {
                        text.push_str(&format!("; {word:?} appears in {to} {} items and {n} {c} items", e.group))
                    }
                    _ => text.push_str(&format!("; {word:?} appears in {to} {} items", e.group)),
                }
            }
        }
        Reason {
            rule: "site-route".into(),
            supports: e.group.clone(),
            subject: Subject::Queue,
            evidence: text,
            weight: 0.0,
        }
    }

    /// The evidence about `item` (the rules' `verdict` on it), sitting in a tracker of role `sits`,
    /// and the action that follows under `policy`.
    pub fn place(&self, item: &Item, sits: TrackerRole, verdict: &Verdict, policy: MovePolicy) -> Placement {
        let MovePolicy { thresholds, rules_may_move_alone } = policy;
        let tracker = item.tracker.as_str();
        let evidence = self.model.score(&item.key, &item.summary, &item.description);
        let signals = Signals::new(verdict, sits, evidence.as_ref());
        let (prior, prior_n) = self.prior(tracker);
        let p = self.fusion.probability(&signals, prior);
        let agree = signals.rules_point_away()
            && (signals.site_points_away() || (rules_may_move_alone && signals.site.is_none()));
        let action = if p >= thresholds.move_at && agree {
            Action::Move
        } else if p >= thresholds.review_at {
            Action::Review
        } else {
            Action::Keep
        };
        let other = match sits {
            TrackerRole::Product => "service queue",
            TrackerRole::Service => "product backlog",
        };
        let mut reasons = Vec::with_capacity(3);
        let decision = match action {
            Action::Move => format!(
                "P(misfiled) {p:.3} >= move threshold {:.2}; the rules and the site model both point to the {other}",
                thresholds.move_at
            ),
            Action::Review => {
                let why = if p < thresholds.move_at {
                    format!("below the move threshold {:.2}", thresholds.move_at)
                } else if !signals.rules_point_away() {
                    "but the rules do not point away".to_string()
                } else if signals.site.is_none() {
                    "but the site model has not learned this site".to_string()
                } else {
                    "but the site model disagrees".to_string()
                };
                format!("P(misfiled) {p:.3} >= review threshold {:.2}, {why}", thresholds.review_at)
            }
            Action::Keep => format!("P(misfiled) {p:.3} < review threshold {:.2}", thresholds.review_at),
        };
        reasons.push(Reason {
            rule: "fused".into(),
            supports: match action {
                Action::Keep => "keep".into(),
                _ => other.to_string(),
            },
            subject: Subject::Decision,
            evidence: decision,
            weight: 0.0,
        });
        match (&evidence, signals.site) {
            (Some(e), Some(toward_other)) => {
                let (backlog, queue) = self.model.counts();
                let (trained_backlog, trained_queue) = self.model.learned();
                let toward_service = e.service_logit >= 0.0;
                let (p_side, side) = if toward_service {
                    (sigmoid(e.service_logit), "service-queue")
                } else {
                    (sigmoid(-e.service_logit), "backlog")
                };
                let (read, trained) = (backlog + queue, trained_backlog + trained_queue);
                let mut text = if trained < read {
                    format!("{p_side:.2} {side} ({}-fold, trained on {trained} of {read} items)", self.model.folds())
                } else {
                    format!("{p_side:.2} {side} ({}-fold, {read} items)", self.model.folds())
                };
                // The words behind it, for an item a human will look at.
                if action != Action::Keep {
                    for (word, in_backlog, in_queue) in
                        self.model.words(&item.key, &item.summary, &item.description, toward_service)
                    {
                        text.push_str(&format!(
                            "; here, {word:?} appears in {in_queue} service-queue items and {in_backlog} backlog items"
                        ));
                    }
                }
                reasons.push(Reason {
                    rule: "site-model".into(),
                    supports: if toward_other > 0.0 { other.to_string() } else { format!("stays ({})", sits.as_str()) },
                    subject: Subject::Class(if toward_other > 0.0 { sits.holds().other() } else { sits.holds() }),
                    evidence: text,
                    weight: 0.0,
                });
            }
            _ => reasons.push(Reason {
                rule: "site-model".into(),
                supports: "abstains".into(),
                subject: Subject::Context,
                evidence: self.model.abstains().unwrap_or("site model: not learned").to_string(),
                weight: 0.0,
            }),
        }
        reasons.push(Reason {
            rule: "site-prior".into(),
            supports: format!("{:.1}% misfiled", prior * 100.0),
            subject: Subject::Context,
            evidence: if prior_n == 0 {
                format!("no estimate for {tracker}: assumed {:.0}% of its items misfiled", prior * 100.0)
            } else {
                // On a big site the estimate is made on the training sample's open items, not on all.
                format!(
                    "{tracker}: about {:.1}% of its open items read as misfiled (estimated on {prior_n} of them)",
                    prior * 100.0
                )
            },
            weight: 0.0,
        });
        Placement { p_misfiled: p, action, signals, prior, reasons }
    }
}

/// The least items the rules must read clearly as one class for [`inverted`] to judge.
const INVERSION_SAMPLE: usize = 20;

/// Whether the site model learned the site the wrong way round. Learning from where items sit needs
/// most of each class to sit where it belongs; where most of the Work sits in the product backlog,
/// the backlog's words are Work's words, and the model would send the service queue's own Work to the
/// backlog. The rules, which know nothing of the site, tell: among the items they read clearly as
/// Work (or Value), most should read to the site model as the service queue's (or the backlog's).
fn inverted<'a>(examples: impl IntoIterator<Item = (TrackerRole, &'a Signals)>, logits: &[f64]) -> Option<String> {
    // [class][agrees?] for items the rules read clearly (one side's evidence at least 1 above the other).
    let mut n = [[0usize; 2]; 2];
    for ((role, s), &l) in examples.into_iter().zip(logits) {
        let (work, value) = match role {
            TrackerRole::Product => (s.away, s.here),
            TrackerRole::Service => (s.here, s.away),
        };
        if work - value >= 1.0 {
            n[1][usize::from(l > 0.0)] += 1;
        } else if value - work >= 1.0 {
            n[0][usize::from(l < 0.0)] += 1;
        }
    }
    for (class, [against, agree]) in [("Work", n[1]), ("Value", n[0])] {
        let total = against + agree;
        if total >= INVERSION_SAMPLE && agree * 2 < total {
            let home = if class == "Work" { "service queues" } else { "product backlogs" };
            return Some(format!(
                "site model: withdrawn: of the {total} items whose text reads clearly as {class}, it places only \
                 {agree} in the {home}: most of this site's {class} seems to sit in the wrong tracker, so its words \
                 cannot be learned from where items sit; nothing moves on its word"
            ));
        }
    }
    None
}

/// What learning keeps of an example beside its features: its tracker (an index of the trackers
/// seen), role, the rules' signals, whether it is open, and its key if it is closed (an original a
/// twin may name).
struct Known {
    tracker: usize,
    role: TrackerRole,
    signals: Signals,
    open: bool,
    closed: Option<String>,
}

/// What the site learner counts of one item, read on a worker (where the rest of the item is dropped).
struct Learning {
    tracker: String,
    key: String,
    open: bool,
    queue: Option<String>,
    origin: Option<String>,
    role: TrackerRole,
    label: Label,
    read: Read,
    /// The rules' evidence (work, value), where the item may be an example.
    evidence: Option<(f64, f64)>,
}

impl Learning {
    fn of(item: Item, role: TrackerRole, label: Label, read: Read, evidence: Option<(f64, f64)>) -> Learning {
        let Item { tracker, key, open, queue, origin, .. } = item;
        Learning { tracker, key, open, queue, origin, role, label, read, evidence }
    }
}

/// Collects each tracker's items' base log-odds, then estimates each tracker's prior.
#[derive(Debug, Default)]
pub struct PriorEstimator {
    base: HashMap<String, Vec<f64>>,
}

impl PriorEstimator {
    pub fn add(&mut self, tracker: &str, fusion: &Fusion, signals: &Signals) {
        let b = fusion.base_logit(signals);
        match self.base.get_mut(tracker) {
            Some(v) => v.push(b),
            None => {
                self.base.insert(tracker.to_string(), vec![b]);
            }
        }
    }

    pub fn finish(self) -> HashMap<String, (f64, usize)> {
        self.base.into_iter().map(|(t, b)| (t, (estimate_prior(&b), b.len()))).collect()
    }
}

/// One example for fitting the fusion: the signals, the true misfiling rate of its site's tracker
/// (the offset), whether it is misfiled, and its weight.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub signals: Signals,
    pub prior: f64,
    pub misfiled: bool,
    pub weight: f64,
}

/// Fit the fusion's coefficients: weighted logistic regression with the prior's log-odds as an offset,
/// by Newton's method with a small ridge (so separable data still converges).
pub fn fit(examples: &[Example]) -> Fusion {
    const K: usize = 4;
    const RIDGE: f64 = 1e-3;
    let mut beta = [0.0f64; K];
    for _ in 0..100 {
        let mut grad = [0.0; K];
        let mut hess = [[0.0; K]; K];
        for e in examples {
            let x = e.signals.features();
            let z: f64 = (0..K).map(|j| beta[j] * x[j]).sum::<f64>() + logit(e.prior);
            let p = sigmoid(z);
            let y = if e.misfiled { 1.0 } else { 0.0 };
            for j in 0..K {
                grad[j] += e.weight * (p - y) * x[j];
                for k in 0..K {
                    hess[j][k] += e.weight * p * (1.0 - p) * x[j] * x[k];
                }
            }
        }
        for j in 0..K {
            grad[j] += RIDGE * beta[j];
            hess[j][j] += RIDGE;
        }
        let Some(step) = solve(hess, grad) else { break };
        let mut biggest: f64 = 0.0;
        for j in 0..K {
            beta[j] -= step[j];
            biggest = biggest.max(step[j].abs());
        }
        if biggest < 1e-9 {
            break;
        }
    }
    Fusion { intercept: beta[0], rules_away: beta[1], rules_here: beta[2], site: beta[3] }
}

/// Solve `a x = b` by Gaussian elimination with partial pivoting.
fn solve<const K: usize>(mut a: [[f64; K]; K], mut b: [f64; K]) -> Option<[f64; K]> {
    for col in 0..K {
        let pivot = (col..K).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..K {
            let f = a[row][col] / a[col][col];
            let pivot_row = a[col];
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; K];
    for row in (0..K).rev() {
        let s: f64 = (row + 1..K).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signals(away: f64, here: f64, site: Option<f64>) -> Signals {
        Signals { away, here, site }
    }

    #[test]
    fn the_embedded_coefficients_parse_and_weigh_evidence_the_right_way() {
        let f = Fusion::fitted();
        assert!(f.rules_away > 0.0 && f.rules_here < 0.0 && f.site > 0.0, "{f:?}");
        // No evidence at all: keep (the prior decides, and trackers are mostly right).
        let nothing = f.probability(&signals(0.0, 0.0, Some(0.0)), DEFAULT_PRIOR);
        assert!(nothing < Thresholds::DEFAULT.review_at, "{nothing}");
        // Everything points away: a move.
        let away = f.probability(&signals(6.0, 0.0, Some(6.0)), DEFAULT_PRIOR);
        assert!(away >= Thresholds::DEFAULT.move_at, "{away}");
    }

    #[test]
    fn the_prior_is_the_share_the_evidence_says_is_misfiled() {
        // 10% of items with overwhelming evidence of misfiling, 90% with overwhelming evidence against.
        let base: Vec<f64> = (0..1000).map(|i| if i % 10 == 0 { 12.0 } else { -12.0 }).collect();
        let prior = estimate_prior(&base);
        assert!((prior - 0.1).abs() < 0.01, "{prior}");
        assert_eq!(estimate_prior(&[]), DEFAULT_PRIOR);
        // It stays in range whatever the evidence.
        assert_eq!(estimate_prior(&[50.0; 10]), PRIOR_RANGE.1);
        assert_eq!(estimate_prior(&[-50.0; 10]), PRIOR_RANGE.0);
    }

    #[test]
    fn fit_recovers_known_coefficients() {
        // Draw labels from a known model, deterministically, and fit them back.
        let truth = Fusion { intercept: -1.0, rules_away: 1.5, rules_here: -0.8, site: 0.7 };
        let mut state = 17u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut examples = Vec::new();
        for _ in 0..20_000 {
            let s = signals(next() * 6.0, next() * 6.0, Some(next() * 12.0 - 6.0));
            let prior = 0.02 + next() * 0.3;
            let misfiled = next() < truth.probability(&s, prior);
            examples.push(Example { signals: s, prior, misfiled, weight: 1.0 });
        }
        let fitted = fit(&examples);
        for (got, want) in [
            (fitted.intercept, truth.intercept),
            (fitted.rules_away, truth.rules_away),
            (fitted.rules_here, truth.rules_here),
            (fitted.site, truth.site),
        ] {
            assert!((got - want).abs() < 0.25, "{fitted:?} vs {truth:?}");
        }
    }

    #[test]
    fn a_site_model_that_learned_the_site_the_wrong_way_round_is_withdrawn() {
        // Items whose text reads clearly as Work (3 against 0), in the backlog or the queue, with the
        // site model's log-odds of "service queue".
        let work = |role: TrackerRole| {
            let s = match role {
                TrackerRole::Product => signals(3.0, 0.0, None),
                TrackerRole::Service => signals(0.0, 3.0, None),
            };
            (role, s)
        };
        let examples: Vec<_> =
            (0..30).map(|i| work(if i < 10 { TrackerRole::Service } else { TrackerRole::Product })).collect();
        // Right way round: the model places most clear Work in the service queue.
        let right: Vec<f64> = (0..30).map(|i| if i < 20 { 2.0 } else { -2.0 }).collect();
        assert_eq!(inverted(examples.iter().map(|(r, s)| (*r, s)), &right), None);
        // Wrong way round: most clear Work reads as the backlog's.
        let wrong: Vec<f64> = (0..30).map(|i| if i < 10 { 2.0 } else { -2.0 }).collect();
        let why = inverted(examples.iter().map(|(r, s)| (*r, s)), &wrong).unwrap();
        assert!(why.contains("of the 30 items whose text reads clearly as Work, it places only 10"), "{why}");
        // Too few clear items to judge.
        assert_eq!(inverted(examples[..15].iter().map(|(r, s)| (*r, s)), &wrong[..15]), None);
    }

    #[test]
    fn moves_need_the_rules_and_the_site_to_agree() {
        let site = Site::unknown("test");
        let mut v = crate::classify::Classifier::with_defaults().classify(&twotrack_api::Item::new(
            "jira",
            "X-1",
            "Please reset my password, my account is locked",
        ));
        v.work = 8.0;
        v.value = 0.0;
        let t = Thresholds { move_at: 0.5, review_at: 0.1 };
        // The site abstains: never a move, unless an administrator allows rules alone.
        let item = twotrack_api::Item::new("jira", "X-1", "s");
        let alone = |rules_may_move_alone| MovePolicy { thresholds: t, rules_may_move_alone };
        let p = site.place(&item, TrackerRole::Product, &v, alone(false));
        assert_eq!(p.action, Action::Review, "{p:?}");
        let p = site.place(&item, TrackerRole::Product, &v, alone(true));
        assert_eq!(p.action, Action::Move, "{p:?}");
        assert!(p.reasons.iter().any(|r| r.rule == "site-model" && r.supports == "abstains"));
    }
}
