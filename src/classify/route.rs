//! Routing learned from the site: which assignment group handles which words, here.
//!
//! The built-in `[[queue]]` rules know a generic service desk; a real one has its own groups ("SAP
//! Basis", "EMEA Desktop"), and its own history of which group took which ticket. Every routed item
//! of the service queue (open or closed, its assignment group as its label; twins twotrack routed
//! itself left out) is an example. The model is a multinomial naive Bayes over the same hashed words,
//! summary words and word pairs as the site layer ([`super::site`]), for the groups with at least
//! [`RouteOptions::min_group`] items, each item a vector of its words' inverse document frequencies
//! scaled to unit length (Rennie, Shih, Teevan & Karger, ICML 2003): words every group uses ("please",
//! "not") weigh little, and a long ticket counts as much as a short one.
//!
//! It is **cross-fitted** like the site layer: items are dealt into folds by a hash of their key and
//! an item is scored only by a model that never saw it. With naive Bayes that is exact and cheap: the
//! counts are kept per fold, and the model of fold `f` is every count minus fold `f`'s.
//!
//! Naive Bayes is over-confident (its word likelihoods are not independent), so its log-likelihoods
//! are divided by a temperature fitted on the site itself: the one that makes the out-of-fold
//! probabilities of the groups items sit in best (least log loss). The counts leave out what a first
//! model found misrouted (one round of confident learning); the temperature is fitted on every routed
//! item, misrouted ones included, so it errs on the side of doubt: a reroute is meant to be right.
//!
//! Below [`RouteOptions::min_items`] routed items, or with fewer than two groups to tell apart, it
//! abstains and says so; the `[[queue]]` rules then route, as before.

use std::collections::HashMap;

use super::Action;
use super::fuse::Thresholds;
use super::site::{DIM, EXTRACT, Extract, compact, fold_of, retain, sample_hash};

/// Additive smoothing of the weighted counts. (Measured on the evaluation's queues: 0.03 and 0.1 make
/// no wrong reroute; 0.3 makes 3 in 201, 1.0 makes 31 in 207.)
const ALPHA: f64 = 0.1;
/// The temperature is fitted on at most this many items (evenly spread over the site).
const CALIBRATION_SAMPLE: usize = 4000;

/// How routing is learned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteOptions {
    pub folds: usize,
    /// The least routed items (in groups it learns) for the model to learn at all.
    pub min_items: usize,
    /// The least items a group needs to be learned; smaller groups are neither predicted nor judged.
    pub min_group: usize,
    /// The most routed items it learns from; beyond it, a sample by a hash of the key (as the site
    /// layer samples).
    pub max_items: usize,
}

impl Default for RouteOptions {
    fn default() -> Self {
        RouteOptions { folds: 5, min_items: 40, min_group: 10, max_items: 100_000 }
    }
}

/// Collects the routed items, then [`RouteLearner::fit`]s the model.
#[derive(Debug)]
pub struct RouteLearner {
    options: RouteOptions,
    features: Vec<u32>,
    offsets: Vec<usize>,
    /// Per example: its group (an index of `names`), fold and sample hash.
    group: Vec<u32>,
    folds: Vec<u8>,
    sample: Vec<u64>,
    /// An item is an example while its sample hash is below this.
    threshold: u64,
    names: Vec<String>,
    index: HashMap<String, u32>,
    scratch: Extract,
}

impl RouteLearner {
    pub fn new(options: RouteOptions) -> RouteLearner {
        RouteLearner {
            options: RouteOptions { folds: options.folds.clamp(2, 20), ..options },
            features: Vec::new(),
            offsets: vec![0],
            group: Vec::new(),
            folds: Vec::new(),
            sample: Vec::new(),
            threshold: u64::MAX,
            names: Vec::new(),
            index: HashMap::new(),
            scratch: Extract::default(),
        }
    }

    /// Add one routed item: its key (which decides its fold), text, and the group that holds it.
    /// An empty group is not a route and is ignored.
    pub fn add(&mut self, key: &str, summary: &str, description: &str, group: &str) {
        if group.trim().is_empty() {
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.run(summary, description);
        self.add_features(key, &scratch.buckets, group);
        self.scratch = scratch;
    }

    /// [`RouteLearner::add`] for an item whose features are already extracted (by the site layer,
    /// which extracts the same ones).
    pub(super) fn add_features(&mut self, key: &str, buckets: &[u32], group: &str) {
        let group = group.trim();
        let hash = sample_hash(key);
        if group.is_empty() || hash >= self.threshold {
            return;
        }
        let id = match self.index.get(&normal(group)) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(group.to_string());
                self.index.insert(normal(group), id);
                id
            }
        };
        self.features.extend_from_slice(buckets);
        self.offsets.push(self.features.len());
        self.group.push(id);
        self.folds.push(fold_of(key, self.options.folds));
        self.sample.push(hash);
        while self.group.len() > self.options.max_items.max(1) {
            self.threshold /= 2;
            let keep: Vec<bool> = self.sample.iter().map(|&h| h < self.threshold).collect();
            compact(&mut self.features, &mut self.offsets, &keep);
            retain(&mut self.group, &keep);
            retain(&mut self.folds, &keep);
            retain(&mut self.sample, &keep);
        }
    }

    /// Count, calibrate, clean once, and return the model (or one that abstains, saying why).
    ///
    /// The cleaning is confident learning's: the items the first model, out of fold, says more likely
    /// belong in another group than in their own are left out of the counts and the calibration, and
    /// the model is counted again. They are still scored, by counts that never saw them.
    pub fn fit(self) -> RouteModel {
        let RouteOptions { min_items, min_group, .. } = self.options;
        let mut size = vec![0usize; self.names.len()];
        for &g in &self.group {
            size[g as usize] += 1;
        }
        // The learned groups, by name (the same whatever order the items came in).
        let mut learned: Vec<u32> = (0..self.names.len() as u32).filter(|&g| size[g as usize] >= min_group).collect();
        learned.sort_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        learned.truncate(usize::from(u16::MAX));
        let routed: usize = learned.iter().map(|&g| size[g as usize]).sum();
        if learned.len() < 2 || routed < min_items {
            let why = format!(
                "site routing: not learned ({routed} routed items in {} groups of at least {min_group}; it needs \
                 {min_items} items in 2 such groups)",
                learned.len()
            );
            return RouteModel::none(&why);
        }
        let mut remap = vec![u16::MAX; self.names.len()];
        for (new, &old) in learned.iter().enumerate() {
            remap[old as usize] = new as u16;
        }
        let names: Vec<String> = learned.iter().map(|&g| self.names[g as usize].clone()).collect();
        let group: Vec<u16> = self.group.iter().map(|&g| remap[g as usize]).collect();
        let mut keep: Vec<bool> = group.iter().map(|&g| g != u16::MAX).collect();
        let idf = self.idf(&keep, routed);
        let first = self.count(&names, &group, &keep, routed, idf.clone());
        let mut dropped = 0;
        for i in 0..group.len() {
            if !keep[i] {
                continue;
            }
            let x = &self.features[self.offsets[i]..self.offsets[i + 1]];
            let (prior, likelihood) = first.log_scores(x, usize::from(self.folds[i]));
            let p = posterior(&prior, &likelihood, first.temperature);
            if p[usize::from(group[i])] < 0.5 && p.iter().any(|&q| q > 0.5) {
                keep[i] = false;
                dropped += 1;
            }
        }
        if dropped == 0 {
            return first;
        }
        // Counted without them; calibrated on every routed item, as the site really is. (Calibrated
        // on the kept items only, or with the dropped share as the labels' noise, its reroutes at
        // P 0.95 to 0.97 were right 0.87 and 0.74 of the time on the generator's queues; this way,
        // every one.)
        let routed_items: Vec<bool> = group.iter().map(|&g| g != u16::MAX).collect();
        let mut model = self.count(&names, &group, &keep, routed, idf);
        model.temperature = self.calibrate(&model, &group, &routed_items);
        model
    }

    /// The inverse document frequency of every bucket over the routed items `over` (`n` of them):
    /// words every group uses weigh little, words few items use weigh much.
    fn idf(&self, over: &[bool], n: usize) -> Vec<f32> {
        let mut df = vec![0u32; DIM];
        for i in (0..over.len()).filter(|&i| over[i]) {
            for &b in &self.features[self.offsets[i]..self.offsets[i + 1]] {
                df[b as usize] += 1;
            }
        }
        df.iter().map(|&d| (((n + 1) as f64 / f64::from(d + 1)).ln() + 1.0) as f32).collect()
    }

    /// Count the kept items (group `group[i]` of `names`) per fold, each item a vector of its words'
    /// `idf` scaled to unit length, and calibrate.
    fn count(&self, names: &[String], group: &[u16], keep: &[bool], routed: usize, idf: Vec<f32>) -> RouteModel {
        let folds = self.options.folds;
        let k = names.len();
        let mut docs = vec![0u32; k * folds];
        let mut mass = vec![0f64; k * folds];
        // (bucket, group, fold, item) packed in one u64: sorting them groups each bucket's postings,
        // and the item in the low bits fixes the order the weights are summed in.
        let mut keys: Vec<u64> = Vec::new();
        let mut norm = vec![0f64; group.len()];
        let members: Vec<usize> = (0..group.len()).filter(|&i| keep[i] && i < MAX_ITEMS).collect();
        for &i in &members {
            let g = group[i];
            let f = usize::from(self.folds[i]);
            let x = &self.features[self.offsets[i]..self.offsets[i + 1]];
            let (sum, length) = weigh(x, &idf);
            norm[i] = length;
            docs[usize::from(g) * folds + f] += 1;
            mass[usize::from(g) * folds + f] += sum * length;
            keys.extend(x.iter().map(|&b| (u64::from(b) << 43) | (u64::from(g) << 27) | ((f as u64) << 22) | i as u64));
        }
        keys.sort_unstable();
        let mut start = vec![0u32; DIM + 1];
        let mut postings: Vec<Posting> = Vec::new();
        for run in keys.chunk_by(|a, b| a >> 22 == b >> 22) {
            let t = run[0];
            let bucket = (t >> 43) as usize;
            let weight: f64 = run.iter().map(|&t| f64::from(idf[bucket]) * norm[(t & ITEM_MASK) as usize]).sum();
            postings.push(Posting {
                group: (t >> 27) as u16,
                fold: ((t >> 22) & 0x1f) as u8,
                count: run.len() as u32,
                weight: weight as f32,
            });
            start[bucket + 1] = postings.len() as u32;
        }
        // Buckets without postings start where the previous one ended.
        for b in 1..=DIM {
            start[b] = start[b].max(start[b - 1]);
        }
        let (run_start, runs, terms) = log_terms(&start, &postings, folds);
        let vocabulary = start.windows(2).filter(|w| w[1] > w[0]).count();
        let mut model = RouteModel {
            folds,
            names: names.to_vec(),
            index: names.iter().enumerate().map(|(g, n)| (normal(n), g as u16)).collect(),
            docs,
            mass,
            start,
            postings,
            run_start,
            runs,
            terms,
            idf,
            vocabulary: vocabulary.max(1),
            temperature: 1.0,
            routed,
            abstain: None,
        };
        model.temperature = self.calibrate(&model, group, keep);
        model
    }

    /// The temperature fitted on an even spread of the items `over`, each scored out of fold.
    fn calibrate(&self, model: &RouteModel, group: &[u16], over: &[bool]) -> f64 {
        let members: Vec<usize> = (0..group.len()).filter(|&i| over[i]).collect();
        let step = members.len().div_ceil(CALIBRATION_SAMPLE).max(1);
        let sample: Vec<_> = members
            .iter()
            .step_by(step)
            .map(|&i| {
                let x = &self.features[self.offsets[i]..self.offsets[i + 1]];
                let (prior, likelihood) = model.log_scores(x, usize::from(self.folds[i]));
                (prior, likelihood, usize::from(group[i]))
            })
            .collect();
        fit_temperature(&sample)
    }
}

/// The per-group runs of each bucket's postings and their out-of-fold log-likelihood terms (see
/// [`RouteModel::terms`]).
fn log_terms(start: &[u32], postings: &[Posting], folds: usize) -> (Vec<u32>, Vec<u16>, Vec<f64>) {
    let mut run_start = Vec::with_capacity(start.len());
    run_start.push(0u32);
    let mut runs = Vec::new();
    let mut terms = Vec::new();
    for w in start.windows(2) {
        for run in postings[w[0] as usize..w[1] as usize].chunk_by(|a, b| a.group == b.group) {
            runs.push(run[0].group);
            for f in 0..folds {
                // Summed in posting order, as a score over the postings would.
                let c: f64 = run.iter().filter(|p| usize::from(p.fold) != f).map(|p| f64::from(p.weight)).sum();
                terms.push(if c > 0.0 { (c + ALPHA).ln() - ALPHA.ln() } else { 0.0 });
            }
        }
        run_start.push(runs.len() as u32);
    }
    (run_start, runs, terms)
}

/// Items beyond this many are not learned from (their index must fit the 22 bits it is packed in).
const MAX_ITEMS: usize = 1 << 22;
const ITEM_MASK: u64 = (1 << 22) - 1;

/// The sum of the `idf` weights of the buckets `x`, and the factor that scales them to unit length.
fn weigh(x: &[u32], idf: &[f32]) -> (f64, f64) {
    let (sum, squares) = x.iter().fold((0.0, 0.0), |(s, q), &b| {
        let w = f64::from(idf[b as usize]);
        (s + w, q + w * w)
    });
    (sum, if squares > 0.0 { 1.0 / squares.sqrt() } else { 0.0 })
}

/// One group's items holding one bucket in one fold: how many, and their summed weights.
#[derive(Debug, Clone, Copy)]
struct Posting {
    group: u16,
    fold: u8,
    count: u32,
    weight: f32,
}

/// The fitted routing model.
#[derive(Debug)]
pub struct RouteModel {
    folds: usize,
    /// The learned groups, by name; `index` finds one by its normalised name.
    names: Vec<String>,
    index: HashMap<String, u16>,
    /// Per group and fold: items, and their weights summed.
    docs: Vec<u32>,
    mass: Vec<f64>,
    /// The postings of bucket `b` are `postings[start[b]..start[b + 1]]`, by group then fold.
    start: Vec<u32>,
    postings: Vec<Posting>,
    /// The same, one run per group of a bucket (`runs[run_start[b]..run_start[b + 1]]`), with the
    /// log-likelihood term of that group's out-of-fold weight for each held-out fold, computed once:
    /// `terms[r * folds + f]` is `ln(c + ALPHA) - ln(ALPHA)`, `c` the run's weight outside fold `f`.
    run_start: Vec<u32>,
    runs: Vec<u16>,
    terms: Vec<f64>,
    /// Per bucket: its inverse document frequency among the routed items.
    idf: Vec<f32>,
    vocabulary: usize,
    temperature: f64,
    routed: usize,
    abstain: Option<String>,
}

/// What the site's routing history says about one item.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteEvidence {
    /// The group the history routes the item to, and the probability of that.
    pub group: String,
    pub p: f64,
    /// The probability of the group the item sits in, where the model learned that group.
    pub p_current: Option<f64>,
}

impl RouteEvidence {
    /// Whether the item sits in the group the history routes it to.
    pub fn is_current(&self, current: Option<&str>) -> bool {
        current.is_some_and(|c| normal(c) == normal(&self.group))
    }

    /// What to do about the item's route under `thresholds`, and the probability it is misrouted.
    ///
    /// In a learned group: the probability of misrouting is one minus that of its group. A reroute
    /// needs the history's group at or above the move threshold; a review, the misrouting at or above
    /// the review threshold and one other group more likely than all the rest together (a model that
    /// knows little spreads its probability, and then no group is against the item's). Without a
    /// group: routing it is a move (or a review) by the probability of the group it would go to. In a
    /// group the model never learned (too small), nothing is known against it: it stays.
    pub fn decide(&self, current: Option<&str>, thresholds: Thresholds) -> (Action, f64) {
        let unassigned = current.is_none_or(|c| c.trim().is_empty());
        let p_misrouted = match (unassigned, self.p_current) {
            (true, _) => self.p,
            (false, Some(p)) => 1.0 - p,
            (false, None) => return (Action::Keep, 0.0),
        };
        let action = if self.is_current(current) {
            Action::Keep
        } else if self.p >= thresholds.move_at {
            Action::Move
        } else if p_misrouted >= thresholds.review_at && self.p > 0.5 {
            Action::Review
        } else {
            Action::Keep
        };
        (action, p_misrouted)
    }
}

impl RouteModel {
    /// A model that learned nothing: it abstains, for `why`.
    pub fn none(why: &str) -> RouteModel {
        RouteModel {
            folds: 1,
            names: Vec::new(),
            index: HashMap::new(),
            docs: Vec::new(),
            mass: Vec::new(),
            start: Vec::new(),
            postings: Vec::new(),
            run_start: Vec::new(),
            runs: Vec::new(),
            terms: Vec::new(),
            idf: Vec::new(),
            vocabulary: 1,
            temperature: 1.0,
            routed: 0,
            abstain: Some(why.to_string()),
        }
    }

    /// Why it abstains, if it does.
    pub fn abstains(&self) -> Option<&str> {
        self.abstain.as_deref()
    }

    /// The groups it learned, by name.
    pub fn groups(&self) -> &[String] {
        &self.names
    }

    /// Whether it learned `group` (compared without case or surrounding blanks).
    pub fn knows(&self, group: &str) -> bool {
        self.index.contains_key(&normal(group))
    }

    /// Routed items it learned from.
    pub fn routed(&self) -> usize {
        self.routed
    }

    pub fn folds(&self) -> usize {
        self.folds
    }

    /// The fitted temperature (how much naive Bayes' log-likelihoods are damped).
    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    /// Score one item out of fold (by the counts that never saw `key`), sitting in `current`.
    /// `None` when abstaining.
    pub fn score(&self, key: &str, summary: &str, description: &str, current: Option<&str>) -> Option<RouteEvidence> {
        if self.abstain.is_some() {
            return None;
        }
        let fold = usize::from(fold_of(key, self.folds));
        let p = EXTRACT.with(|cell| {
            let mut e = cell.borrow_mut();
            e.run(summary, description);
            let (prior, likelihood) = self.log_scores(&e.buckets, fold);
            posterior(&prior, &likelihood, self.temperature)
        });
        let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a)))?;
        let p_current = current.and_then(|c| self.index.get(&normal(c))).map(|&g| p[usize::from(g)]);
        Some(RouteEvidence { group: self.names[best].clone(), p: p[best], p_current })
    }

    /// The (at most two) words of an item that speak most for `toward` against `against` (or, without
    /// one, for `toward` at all), each with the items of each group that contain it (out of fold).
    pub fn words(
        &self,
        key: &str,
        summary: &str,
        description: &str,
        toward: &str,
        against: Option<&str>,
    ) -> Vec<(String, u32, Option<u32>)> {
        let Some(&to) = self.index.get(&normal(toward)) else { return Vec::new() };
        let from = against.and_then(|a| self.index.get(&normal(a))).copied();
        let fold = usize::from(fold_of(key, self.folds));
        let log_rate = |g: u16, weight: f64| {
            let n = self.oof_mass(g, fold);
            (weight + ALPHA).ln() - (n + ALPHA * self.vocabulary as f64).ln()
        };
        EXTRACT.with(|cell| {
            let mut e = cell.borrow_mut();
            e.run_with_words(summary, description);
            let mut best: Vec<(f64, usize, u32, Option<u32>)> = e
                .unigrams
                .iter()
                .enumerate()
                .filter_map(|(i, u)| {
                    let (c_to, w_to) = self.held(u.bucket, to, fold);
                    if c_to == 0 {
                        return None;
                    }
                    let held_from = from.map(|g| (g, self.held(u.bucket, g, fold)));
                    let c_from = held_from.map(|(_, (c, _))| c);
                    let lift = match held_from {
                        Some((g, (_, w))) => log_rate(to, w_to) - log_rate(g, w),
                        None => log_rate(to, w_to),
                    };
                    (lift > 0.0 || from.is_none()).then_some((lift, i, c_to, c_from))
                })
                .collect();
            best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            best.iter()
                .take(2)
                .map(|&(_, i, c_to, c_from)| {
                    let u = &e.unigrams[i];
                    (e.lower[u.text.0..u.text.1].to_string(), c_to, c_from)
                })
                .collect()
        })
    }

    /// The items of group `g` holding bucket `b`, out of fold `fold`, and their summed weights.
    fn held(&self, b: u32, g: u16, fold: usize) -> (u32, f64) {
        let b = b as usize;
        self.postings[self.start[b] as usize..self.start[b + 1] as usize]
            .iter()
            .filter(|p| p.group == g && usize::from(p.fold) != fold)
            .fold((0, 0.0), |(c, w), p| (c + p.count, w + f64::from(p.weight)))
    }

    /// Group `g`'s items, out of fold `fold`.
    fn oof_docs(&self, g: u16, fold: usize) -> u64 {
        self.row(&self.docs, g).iter().enumerate().filter(|&(f, _)| f != fold).map(|(_, &c)| u64::from(c)).sum()
    }

    /// Group `g`'s summed weights, out of fold `fold`.
    fn oof_mass(&self, g: u16, fold: usize) -> f64 {
        self.row(&self.mass, g).iter().enumerate().filter(|&(f, _)| f != fold).map(|(_, &m)| m).sum()
    }

    fn row<'a, T>(&self, per_fold: &'a [T], g: u16) -> &'a [T] {
        &per_fold[usize::from(g) * self.folds..(usize::from(g) + 1) * self.folds]
    }

    /// Per group, out of fold: the log prior and the log-likelihood of the features `x`, each weighed
    /// by its idf and the item scaled to unit length.
    fn log_scores(&self, x: &[u32], fold: usize) -> (Vec<f64>, Vec<f64>) {
        let k = self.names.len();
        let vocabulary = self.vocabulary as f64;
        let docs: Vec<u64> = (0..k as u16).map(|g| self.oof_docs(g, fold)).collect();
        let total: u64 = docs.iter().sum();
        let prior: Vec<f64> =
            docs.iter().map(|&d| ((d as f64) + 1.0).ln() - ((total + k as u64) as f64).ln()).collect();
        let (sum, length) = weigh(x, &self.idf);
        let mass = sum * length;
        let mut likelihood: Vec<f64> =
            (0..k as u16).map(|g| mass * (ALPHA.ln() - (self.oof_mass(g, fold) + ALPHA * vocabulary).ln())).collect();
        // Only the words a group has seen move it off that floor.
        for &b in x {
            let (from, to) = (self.run_start[b as usize] as usize, self.run_start[b as usize + 1] as usize);
            let w = f64::from(self.idf[b as usize]) * length;
            for r in from..to {
                let term = self.terms[r * self.folds + fold];
                if term > 0.0 {
                    likelihood[usize::from(self.runs[r])] += w * term;
                }
            }
        }
        (prior, likelihood)
    }
}

/// Group names are compared without case or surrounding blanks (as the trackers compare them).
fn normal(group: &str) -> String {
    group.trim().to_lowercase()
}

/// Softmax of `prior + likelihood / temperature`.
fn posterior(prior: &[f64], likelihood: &[f64], temperature: f64) -> Vec<f64> {
    let z: Vec<f64> = prior.iter().zip(likelihood).map(|(p, l)| p + l / temperature).collect();
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// `posterior(prior, likelihood, temperature)[g]`, the same arithmetic without the vectors.
fn posterior_of(prior: &[f64], likelihood: &[f64], temperature: f64, g: usize) -> f64 {
    let z = |i: usize| prior[i] + likelihood[i] / temperature;
    let max = (0..prior.len()).map(z).fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = (0..prior.len()).map(|i| (z(i) - max).exp()).sum();
    (z(g) - max).exp() / sum
}

/// The temperature with the least log loss of the groups the sampled items sit in: a search over a
/// geometric grid, then a golden-section refinement around the best point.
fn fit_temperature(sample: &[(Vec<f64>, Vec<f64>, usize)]) -> f64 {
    let loss = |t: f64| -> f64 {
        sample.iter().map(|(prior, likelihood, g)| -posterior_of(prior, likelihood, t, *g).max(1e-12).ln()).sum()
    };
    let grid: Vec<f64> = (0..=40).map(|i| 2f64.powf(-2.0 + 0.25 * f64::from(i))).collect();
    let losses: Vec<f64> = grid.iter().map(|&t| loss(t)).collect();
    let best = (0..grid.len()).min_by(|&a, &b| losses[a].total_cmp(&losses[b])).unwrap_or(0);
    let (mut lo, mut hi) = (grid[best.saturating_sub(1)], grid[(best + 1).min(grid.len() - 1)]);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..20 {
        let a = hi - ratio * (hi - lo);
        let b = lo + ratio * (hi - lo);
        if loss(a) < loss(b) {
            hi = b;
        } else {
            lo = a;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "Database Administration";
    const NET: &str = "Network Operations";
    const DESK: &str = "EMEA Desktop";

    /// A site with three groups, each with its own words, and `wrong` items of the database group's
    /// kind sitting in the network group.
    fn site(n: usize, wrong: usize) -> RouteLearner {
        let mut l = RouteLearner::new(RouteOptions::default());
        for i in 0..n {
            l.add(&format!("INC{i}a"), &format!("Postgres replica lag on orders db {i}"), "restore", DB);
            l.add(&format!("INC{i}b"), &format!("VPN tunnel drops for site {i}"), "firewall", NET);
            l.add(&format!("INC{i}c"), &format!("Laptop screen flickers for user {i}"), "docking", DESK);
        }
        for i in 0..wrong {
            l.add(&format!("INC{i}w"), &format!("Postgres replica lag on billing db {i}"), "restore", NET);
        }
        l
    }

    #[test]
    fn a_big_queue_is_learned_from_a_bounded_sample() {
        let mut l = RouteLearner::new(RouteOptions { max_items: 120, ..RouteOptions::default() });
        for i in 0..200 {
            l.add(&format!("INC{i}a"), &format!("Postgres replica lag on orders db {i}"), "restore", DB);
            l.add(&format!("INC{i}b"), &format!("VPN tunnel drops for site {i}"), "firewall", NET);
        }
        let model = l.fit();
        assert!(model.abstains().is_none(), "{:?}", model.abstains());
        assert!((60..=120).contains(&model.routed()), "{}", model.routed());
        let e = model.score("INC-new", "Postgres replica lag on orders db", "", Some(NET)).unwrap();
        assert_eq!(e.group, DB);
    }

    #[test]
    fn learns_the_groups_and_finds_the_misrouted_out_of_fold() {
        let model = site(100, 1).fit();
        assert!(model.abstains().is_none());
        assert_eq!(model.groups(), [DB, DESK, NET]);
        assert_eq!(model.routed(), 301);
        let e = model.score("INC0w", "Postgres replica lag on billing db 0", "restore", Some(NET)).unwrap();
        assert_eq!(e.group, DB, "{e:?}");
        assert!(e.p > 0.9 && e.p_current.unwrap() < 0.1, "{e:?}");
        // Calibrated on where items sit, this one among them: sure enough for a human to look.
        assert_eq!(e.decide(Some(NET), Thresholds::DEFAULT).0, Action::Review, "{e:?}");
        // Where every item sits right, a new one put in the wrong group is moved.
        let clean = site(100, 0).fit();
        let e = clean.score("NEW-1", "Postgres replica lag on billing db", "restore", Some(NET)).unwrap();
        assert_eq!((e.group.as_str(), e.decide(Some(NET), Thresholds::DEFAULT).0), (DB, Action::Move), "{e:?}");
        // An item routed right stays, whatever case its group is written in.
        let ok = model.score("INC3b", "VPN tunnel drops for site 3", "firewall", Some("network operations")).unwrap();
        assert!(ok.is_current(Some("network operations")), "{ok:?}");
        assert_eq!(ok.decide(Some("network operations"), Thresholds::DEFAULT).0, Action::Keep);
        // The words behind it, with how many items of each group hold them.
        let words = model.words("INC0w", "Postgres replica lag on billing db 0", "restore", DB, Some(NET));
        assert!(!words.is_empty() && words.len() <= 2, "{words:?}");
        let (_, in_db, in_net) = &words[0];
        assert!(*in_db > in_net.unwrap(), "{words:?}");
    }

    #[test]
    fn a_group_it_never_learned_is_never_judged() {
        let mut l = site(30, 0);
        for i in 0..3 {
            l.add(&format!("INC{i}s"), "Postgres replica lag", "restore", "SAP Basis");
        }
        let model = l.fit();
        assert!(!model.knows("SAP Basis"));
        let e = model.score("INC0s", "Postgres replica lag", "restore", Some("SAP Basis")).unwrap();
        assert_eq!(e.p_current, None);
        assert_eq!(e.decide(Some("SAP Basis"), Thresholds::DEFAULT), (Action::Keep, 0.0));
        // Unassigned: routing it is proposed by the probability of where it would go.
        let (action, p) = e.decide(None, Thresholds::DEFAULT);
        assert_eq!(action, Action::Move, "{e:?}");
        assert_eq!(p, e.p);
    }

    #[test]
    fn abstains_without_history_and_says_why() {
        let model = site(5, 0).fit();
        assert!(model.score("INC1a", "Postgres", "", Some(DB)).is_none());
        assert!(model.abstains().unwrap().contains("0 routed items in 0 groups"), "{:?}", model.abstains());
        let mut one = RouteLearner::new(RouteOptions::default());
        for i in 0..50 {
            one.add(&format!("INC{i}"), "Postgres", "", DB);
        }
        assert!(one.fit().abstains().unwrap().contains("in 1 groups"));
    }

    #[test]
    fn the_same_items_give_the_same_scores() {
        let a = site(20, 1).fit();
        let b = site(20, 1).fit();
        assert_eq!(a.temperature(), b.temperature());
        for key in ["INC1a", "INC0w", "NEW-1"] {
            assert_eq!(a.score(key, "Postgres VPN", "x", Some(NET)), b.score(key, "Postgres VPN", "x", Some(NET)));
        }
    }

    #[test]
    fn an_item_is_scored_by_counts_that_never_saw_it() {
        // A word only one item has: out of fold, no group has seen it, so it weighs exactly as much as
        // a word nobody wrote.
        let mut l = site(30, 0);
        l.add("INC-odd", "zyxwvq", "", DESK);
        let model = l.fit();
        let own = model.score("INC-odd", "zyxwvq", "", Some(DESK)).unwrap();
        let unseen = model.score("INC-odd", "qvwxyz", "", Some(DESK)).unwrap();
        assert_eq!(own, unseen);
    }
}
