//! The site layer: what this site's own trackers say about their words.
//!
//! Real trackers are mostly filed right, and which words mean Work depends on the site: "outlook
//! search not working" is a service incident at a company that runs Outlook and a product defect at
//! the company that builds it. So twotrack learns, from the mirror, how the words of this site's
//! service queue differ from those of its product backlog: every item is an example labelled with the
//! role of the tracker it sits in (a noisy label: some items are misfiled, which is the point), and
//! items a human decided about (a keep marker, a twin twotrack created that stayed where it was put)
//! count as clean examples with more weight.
//!
//! The model is a logistic regression over hashed words and word pairs, trained with AdaGrad.
//! It is **cross-fitted**: the items are dealt into `k` folds by a hash of their key, `k` models are
//! trained, each without one fold, and an item is scored only by the model that never saw it
//! (out-of-fold, as in confident learning: Northcutt, Jiang & Chuang, JAIR 2021). An item can
//! therefore never vouch for itself. Training weighs both roles equally, so the score is a
//! likelihood ratio between the two trackers' vocabularies; the base rate of misfiling is the
//! prior's job ([`super::fuse`]).
//!
//! Below [`SiteOptions::min_per_role`] items in either role the layer abstains and says so. Everything
//! is deterministic for a given set of items: the folds, the shuffles (a fixed seed) and the sums.

use std::collections::HashMap;

use twotrack_api::TrackerRole;

use super::text::Fnv;

/// Features are hashed into this many buckets (2^18).
pub(super) const DIM: usize = 1 << 18;
/// Description text beyond this many bytes is not read: the start of a ticket says what it is about.
const MAX_DESCRIPTION: usize = 3000;
/// Passes over the training items, in each round. Four measured as well as six on the real-ticket
/// sites (fusion refitted: 1,883 moves at 0.999 precision against 1,888) in two thirds of the time;
/// a second round that goes on from the first instead of starting afresh measured worse (0.993 move
/// precision with 4 + 2 warm-started passes).
const EPOCHS: usize = 4;
/// AdaGrad's base learning rate.
const LEARNING_RATE: f32 = 0.5;
/// L2 regularisation per update (lazy: applied to the features an update touches).
const L2: f32 = 1e-4;

/// How the site layer learns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiteOptions {
    /// Folds of the cross-fitting (an item is scored by the model trained on the other `folds - 1`).
    pub folds: usize,
    /// The least items each role needs for the layer to learn at all.
    pub min_per_role: usize,
    /// How much more an item a human decided about counts than an item that merely sits somewhere.
    pub clean_weight: f32,
    /// The most items of each role the models are trained on. Beyond it, a sample (by a hash of the
    /// key: the same items whatever order they come in) keeps memory and time bounded on big sites;
    /// the words of every item still count in the document frequencies.
    pub max_per_role: usize,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions { folds: 5, min_per_role: 40, clean_weight: 3.0, max_per_role: 100_000 }
    }
}

/// Whether an example's label is just where it sits, or a human's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Where it sits: usually right, sometimes misfiled.
    Sits,
    /// A human decided it belongs here (keep marker; a twin that stayed; an original its reporter
    /// reopened after a move).
    Decided,
    /// A human decided it belongs in the other role than where it sits (a twin sent back as
    /// misfiled): a clean example of the other role.
    Returned,
    /// Not an example at all (its words still count in the document frequencies).
    Ignored,
}

/// Collects the site's items, then [`SiteLearner::fit`]s the cross-fitted models. Each example
/// carries a payload `P` of the caller's (what it needs to know about the example after fitting).
#[derive(Debug)]
pub struct SiteLearner<P = ()> {
    options: SiteOptions,
    /// Every example's features, back to back; example `i` is `features[offsets[i]..offsets[i + 1]]`.
    features: Vec<u32>,
    offsets: Vec<usize>,
    /// Per example: sits in a service queue (1) or a product backlog (0); weight; fold; sample hash;
    /// the caller's payload.
    service: Vec<bool>,
    weights: Vec<f32>,
    folds: Vec<u8>,
    sample: Vec<u64>,
    payload: Vec<P>,
    /// Per role: an item is an example while its sample hash is below this (halved whenever a role
    /// holds more than [`SiteOptions::max_per_role`] examples).
    threshold: [u64; 2],
    /// Documents per word (64-bit hash of the word), in product backlogs and in service queues.
    doc_freq: HashMap<u64, [u32; 2], Fnv>,
    /// Per role: examples, and items read.
    count: [usize; 2],
    seen: [usize; 2],
    scratch: Extract,
}

impl<P> SiteLearner<P> {
    pub fn new(options: SiteOptions) -> SiteLearner<P> {
        SiteLearner {
            options: SiteOptions {
                folds: options.folds.clamp(2, 20),
                max_per_role: options.max_per_role.max(options.min_per_role).max(1),
                ..options
            },
            features: Vec::new(),
            offsets: vec![0],
            service: Vec::new(),
            weights: Vec::new(),
            folds: Vec::new(),
            sample: Vec::new(),
            payload: Vec::new(),
            threshold: [u64::MAX; 2],
            doc_freq: HashMap::default(),
            count: [0, 0],
            seen: [0, 0],
            scratch: Extract::default(),
        }
    }

    /// Read one mirrored item: its key (which decides its fold and whether it is sampled), text, the
    /// role of where it sits, and its label. Its words count in the document frequencies; where it
    /// is in the training sample it becomes an example, with the payload `payload()` makes (called
    /// only then). Returns whether it is an example (it may leave the sample later, as the site grows).
    pub fn add(
        &mut self,
        key: &str,
        summary: &str,
        description: &str,
        role: TrackerRole,
        label: Label,
        payload: impl FnOnce() -> P,
    ) -> bool {
        let mut e = std::mem::take(&mut self.scratch);
        e.run(summary, description);
        let example = self.add_words(key, &e.words, &e.buckets, role, label, payload);
        self.scratch = e;
        example
    }

    /// [`SiteLearner::add`] for an item whose text was read already (on another thread, say).
    pub fn add_read(
        &mut self,
        key: &str,
        read: &Read,
        role: TrackerRole,
        label: Label,
        payload: impl FnOnce() -> P,
    ) -> bool {
        self.add_words(key, &read.words, &read.buckets, role, label, payload)
    }

    /// Per role, the sample hash below which an item is an example now. It only falls as the site
    /// grows, so an item [`SiteLearner::samples`] rejects under these is never an example later.
    pub fn thresholds(&self) -> [u64; 2] {
        self.threshold
    }

    /// Whether an item of `key`, sitting where `role` says with `label`, is an example under
    /// `thresholds` (to make its payload ahead, on another thread, only where it may be needed).
    pub fn samples(thresholds: [u64; 2], key: &str, role: TrackerRole, label: Label) -> bool {
        sample_hash(key) < thresholds[label_side(role, label)]
    }

    fn add_words(
        &mut self,
        key: &str,
        words: &[u64],
        buckets: &[u32],
        role: TrackerRole,
        label: Label,
        payload: impl FnOnce() -> P,
    ) -> bool {
        let side = label_side(role, label);
        for &w in words {
            self.doc_freq.entry(w).or_default()[side] += 1;
        }
        self.seen[side] += 1;
        let hash = sample_hash(key);
        if hash >= self.threshold[side] {
            return false;
        }
        self.features.extend_from_slice(buckets);
        self.offsets.push(self.features.len());
        self.service.push(side == 1);
        self.weights.push(match label {
            Label::Sits => 1.0,
            Label::Decided | Label::Returned => self.options.clean_weight,
            Label::Ignored => 0.0,
        });
        self.folds.push(fold_of(key, self.options.folds));
        self.sample.push(hash);
        self.payload.push(payload());
        self.count[side] += 1;
        while self.count[side] > self.options.max_per_role {
            self.threshold[side] /= 2;
            self.resample(side);
        }
        hash < self.threshold[side]
    }

    /// Drop the examples of role `side` at or above its threshold.
    fn resample(&mut self, side: usize) {
        let threshold = self.threshold[side];
        let keep: Vec<bool> =
            self.service.iter().zip(&self.sample).map(|(&s, &h)| usize::from(s) != side || h < threshold).collect();
        compact(&mut self.features, &mut self.offsets, &keep);
        retain(&mut self.service, &keep);
        retain(&mut self.weights, &keep);
        retain(&mut self.folds, &keep);
        retain(&mut self.sample, &keep);
        retain(&mut self.payload, &keep);
        self.count[side] = self.service.iter().filter(|&&s| usize::from(s) == side).count();
    }

    /// Leave the examples whose payload `matches` out of training (an original a twin was created
    /// from: it sat in the wrong place). Their words still count in the document frequencies.
    pub fn leave_out(&mut self, matches: impl Fn(&P) -> bool) {
        for (w, p) in self.weights.iter_mut().zip(&self.payload) {
            if matches(p) {
                *w = 0.0;
            }
        }
    }

    /// Train the models (one per fold, in parallel) and return the fitted layer, or one that abstains.
    pub fn fit(self) -> SiteModel {
        self.fit_cleaned(|_, _| Vec::new()).0
    }

    /// Train the models, then clean the labels once, as confident learning does: `clean` gets every
    /// example's out-of-fold log-odds of sitting in a service queue, with its payload, and names the
    /// examples to leave out (those the evidence says are misfiled); the models are trained again
    /// without them. Returns the layer, every example's out-of-fold log-odds under it (`None` when
    /// abstaining), and the examples' payloads in the same order.
    pub fn fit_cleaned(
        mut self,
        clean: impl FnOnce(&[f64], &[P]) -> Vec<usize>,
    ) -> (SiteModel, Option<Vec<f64>>, Vec<P>) {
        let count = self.count;
        let min = self.options.min_per_role;
        if count[0] < min || count[1] < min {
            let why = format!(
                "site model: not learned ({} backlog and {} service-queue items; it needs {min} of each)",
                count[0], count[1]
            );
            return self.into_model(Vec::new(), None, Some(why));
        }
        let first = self.train_folds();
        let logits = self.out_of_fold(&first);
        let dropped = clean(&logits, &self.payload);
        if dropped.is_empty() {
            return self.into_model(first, Some(logits), None);
        }
        for i in dropped {
            if let Some(w) = self.weights.get_mut(i) {
                *w = 0.0;
            }
        }
        let second = self.train_folds();
        let logits = self.out_of_fold(&second);
        self.into_model(second, Some(logits), None)
    }

    fn into_model(
        self,
        models: Vec<Model>,
        logits: Option<Vec<f64>>,
        abstain: Option<String>,
    ) -> (SiteModel, Option<Vec<f64>>, Vec<P>) {
        let model = SiteModel {
            options: self.options,
            models,
            doc_freq: self.doc_freq,
            count: self.seen,
            learned: self.count,
            abstain,
        };
        (model, logits, self.payload)
    }

    /// Every example's log-odds by the model of its fold.
    fn out_of_fold(&self, models: &[Model]) -> Vec<f64> {
        (0..self.service.len())
            .map(|i| {
                let x = &self.features[self.offsets[i]..self.offsets[i + 1]];
                f64::from(models[usize::from(self.folds[i])].logit(x))
            })
            .collect()
    }

    /// One model per fold, each trained without its fold, in parallel.
    fn train_folds(&self) -> Vec<Model> {
        let n = self.service.len();
        // Each role counts as much as the other, whatever their sizes (examples left out not counted).
        let mut mass = [0.0f32; 2];
        for (i, &w) in self.weights.iter().enumerate() {
            if w > 0.0 {
                mass[usize::from(self.service[i])] += 1.0;
            }
        }
        let total = mass[0] + mass[1];
        let class_weight = [total / (2.0 * mass[0].max(1.0)), total / (2.0 * mass[1].max(1.0))];
        let dense = Dense::of(&self.features);
        let data =
            Data { features: &dense.features, offsets: &self.offsets, service: &self.service, weights: &self.weights };
        let folds = &self.folds;
        let dense = &dense;
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..self.options.folds)
                .map(|f| {
                    let data = &data;
                    s.spawn(move || {
                        let members: Vec<u32> = (0..n as u32)
                            .filter(|&i| folds[i as usize] != f as u8 && data.weights[i as usize] > 0.0)
                            .collect();
                        dense.model(train(data, dense.buckets.len(), members, class_weight, f as u64))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect::<Vec<_>>()
        })
    }
}

/// The examples' features renumbered densely, the most frequent first, for training: the weights the
/// most examples touch then sit together in a few kilobytes that stay in cache, instead of being
/// spread over the whole hashed space (which is beyond a core's cache). A renumbering only: the
/// models are the same, number for number, as trained on the buckets themselves.
struct Dense {
    /// Every example's features, back to back, as dense indices (offsets as the learner's).
    features: Vec<u32>,
    /// Dense index -> hashed bucket.
    buckets: Vec<u32>,
}

impl Dense {
    fn of(features: &[u32]) -> Dense {
        let mut count = vec![0u32; DIM];
        for &b in features {
            count[b as usize] += 1;
        }
        let mut buckets: Vec<u32> = (0..DIM as u32).filter(|&b| count[b as usize] > 0).collect();
        buckets.sort_by_key(|&b| (std::cmp::Reverse(count[b as usize]), b));
        // `count` becomes bucket -> dense index.
        for (index, &b) in buckets.iter().enumerate() {
            count[b as usize] = index as u32;
        }
        Dense { features: features.iter().map(|&b| count[b as usize]).collect(), buckets }
    }

    /// A model trained on dense indices, over the hashed buckets again (unseen buckets weigh 0, as
    /// they would have after training on the buckets).
    fn model(&self, (dense, bias): (Vec<f32>, f32)) -> Model {
        let mut w = vec![0.0f32; DIM];
        for (&b, &weight) in self.buckets.iter().zip(&dense) {
            w[b as usize] = weight;
        }
        Model { w, bias }
    }
}

/// Keep the rows of back-to-back `features` (row `i` is `features[offsets[i]..offsets[i + 1]]`)
/// where `keep[i]`, in order.
pub(super) fn compact(features: &mut Vec<u32>, offsets: &mut Vec<usize>, keep: &[bool]) {
    let mut end = 0;
    let mut kept = 1;
    for (i, &k) in keep.iter().enumerate() {
        if k {
            let (start, stop) = (offsets[i], offsets[i + 1]);
            features.copy_within(start..stop, end);
            end += stop - start;
            offsets[kept] = end;
            kept += 1;
        }
    }
    features.truncate(end);
    offsets.truncate(kept);
}

/// Keep the elements of `v` where `keep`, in order.
pub(super) fn retain<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// The hash that decides whether an item is in a big site's training sample: the items with the
/// smallest hashes are, whatever order they come in.
pub(super) fn sample_hash(key: &str) -> u64 {
    let mut z = fnv(key.as_bytes(), SEED_SAMPLE);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const SEED_SAMPLE: u64 = 0x5341_4d50_4c45_2121;

/// The training data, borrowed.
struct Data<'a> {
    features: &'a [u32],
    offsets: &'a [usize],
    service: &'a [bool],
    weights: &'a [f32],
}

/// One logistic regression: P(sits in a service queue | words).
#[derive(Debug, Clone)]
struct Model {
    w: Vec<f32>,
    bias: f32,
}

impl Model {
    fn logit(&self, buckets: &[u32]) -> f32 {
        let scale = norm(buckets.len());
        self.bias + buckets.iter().map(|&b| self.w[b as usize]).sum::<f32>() * scale
    }
}

/// Binary features scaled to unit length.
fn norm(n: usize) -> f32 {
    if n == 0 { 0.0 } else { 1.0 / (n as f32).sqrt() }
}

/// Train one model on `members` over `dim` (dense) features: its weights and bias.
fn train(data: &Data<'_>, dim: usize, mut members: Vec<u32>, class_weight: [f32; 2], seed: u64) -> (Vec<f32>, f32) {
    // Each weight beside its AdaGrad sum of squared gradients: an update touches one cache line, not
    // two.
    let mut state = vec![Slot { w: 0.0, g2: 1e-6 }; dim];
    let mut bias = 0.0f32;
    let mut g2_bias = 1e-6f32;
    let mut rng = SplitMix(0x7477_6f74_7261_636b ^ seed ^ (EPOCHS as u64) << 32);
    for _ in 0..EPOCHS {
        // Fisher-Yates with a fixed seed: the same items give the same model.
        for i in (1..members.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            members.swap(i, j);
        }
        for &i in &members {
            let i = i as usize;
            let x = &data.features[data.offsets[i]..data.offsets[i + 1]];
            let y = data.service[i];
            let weight = data.weights[i] * class_weight[usize::from(y)];
            let scale = norm(x.len());
            let p = sigmoid(bias + x.iter().map(|&b| state[b as usize].w).sum::<f32>() * scale);
            // The gradient of the weighted log loss with respect to the logit.
            let g = weight * (p - f32::from(u8::from(y)));
            for &b in x {
                let slot = &mut state[b as usize];
                let grad = g * scale + L2 * slot.w;
                slot.g2 += grad * grad;
                slot.w -= LEARNING_RATE * grad / slot.g2.sqrt();
            }
            g2_bias += g * g;
            bias -= LEARNING_RATE * g / g2_bias.sqrt();
        }
    }
    (state.iter().map(|s| s.w).collect(), bias)
}

/// One weight of a model in training, and its sum of squared gradients.
#[derive(Clone, Copy)]
struct Slot {
    w: f32,
    g2: f32,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// The fitted site layer.
#[derive(Debug)]
pub struct SiteModel {
    options: SiteOptions,
    /// One model per fold: model `f` never saw the items of fold `f`. Empty when abstaining.
    models: Vec<Model>,
    doc_freq: HashMap<u64, [u32; 2], Fnv>,
    /// Per role: items read, and items trained on (fewer where the site is sampled).
    count: [usize; 2],
    learned: [usize; 2],
    abstain: Option<String>,
}

/// What the site layer says about one item.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteEvidence {
    /// Out-of-fold log-odds that the item's words are the service queue's rather than the backlog's
    /// (both roles weighed equally).
    pub service_logit: f64,
}

impl SiteModel {
    /// A layer that learned nothing (for callers without a site: it abstains).
    pub fn none(why: &str) -> SiteModel {
        SiteModel {
            options: SiteOptions::default(),
            models: Vec::new(),
            doc_freq: HashMap::default(),
            count: [0, 0],
            learned: [0, 0],
            abstain: Some(why.to_string()),
        }
    }

    /// Stop trusting the learned models: the layer abstains from now on, for `why`.
    pub fn withdraw(&mut self, why: String) {
        self.models.clear();
        self.abstain = Some(why);
    }

    /// Why the layer abstains, if it does.
    pub fn abstains(&self) -> Option<&str> {
        self.abstain.as_deref()
    }

    /// Items it read: (in product backlogs, in service queues).
    pub fn counts(&self) -> (usize, usize) {
        (self.count[0], self.count[1])
    }

    /// Items it read, in all.
    pub fn items_read(&self) -> usize {
        self.count[0] + self.count[1]
    }

    /// Items it was trained on: the items read, or a sample of them on a big site.
    pub fn learned(&self) -> (usize, usize) {
        (self.learned[0], self.learned[1])
    }

    pub fn folds(&self) -> usize {
        self.options.folds
    }

    /// Score one item out-of-fold (by the model that did not see `key`). `None` when abstaining.
    /// [`SiteModel::words`] finds the words behind it where a reason needs them.
    pub fn score(&self, key: &str, summary: &str, description: &str) -> Option<SiteEvidence> {
        let model = self.models.get(usize::from(fold_of(key, self.options.folds)))?;
        EXTRACT.with(|cell| {
            let mut e = cell.borrow_mut();
            e.run(summary, description);
            Some(SiteEvidence { service_logit: f64::from(model.logit(&e.buckets)) })
        })
    }

    /// The (at most two) words of an item that pushed its out-of-fold score most toward the service
    /// queue (or the backlog), each with the documents of each role that contain it.
    pub fn words(&self, key: &str, summary: &str, description: &str, toward_service: bool) -> Vec<(String, u32, u32)> {
        let Some(model) = self.models.get(usize::from(fold_of(key, self.options.folds))) else {
            return Vec::new();
        };
        EXTRACT.with(|cell| {
            let mut e = cell.borrow_mut();
            e.run_with_words(summary, description);
            let mut best: Vec<(f32, usize)> = e
                .unigrams
                .iter()
                .enumerate()
                .map(|(i, u)| (model.w[u.bucket as usize], i))
                .filter(|&(w, _)| if toward_service { w > 0.0 } else { w < 0.0 })
                .collect();
            // Strongest first; on a tie, the word that came first.
            best.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then(e.unigrams[a.1].at.cmp(&e.unigrams[b.1].at)));
            best.iter()
                .take(2)
                .map(|&(_, i)| {
                    let u = &e.unigrams[i];
                    let [p, s] = self.doc_freq.get(&u.hash).copied().unwrap_or_default();
                    (e.lower[u.text.0..u.text.1].to_string(), p, s)
                })
                .collect()
        })
    }
}

thread_local! {
    /// The extraction buffers of a thread, shared by the site model and the routing: judging an
    /// item asks both about the same text, and the second asks [`Extract`]'s memory.
    pub(super) static EXTRACT: std::cell::RefCell<Extract> = std::cell::RefCell::new(Extract::default());
}

/// The side an item is an example of: where it sits, or the other for one a human sent back.
fn label_side(role: TrackerRole, label: Label) -> usize {
    match label {
        Label::Returned => 1 - side(role),
        _ => side(role),
    }
}

fn side(role: TrackerRole) -> usize {
    match role {
        TrackerRole::Product => 0,
        TrackerRole::Service => 1,
    }
}

/// The fold of an item: a stable hash of its key.
pub(super) fn fold_of(key: &str, folds: usize) -> u8 {
    (fnv(key.as_bytes(), FNV_OFFSET) % folds as u64) as u8
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A well-mixed bucket for a 64-bit hash.
fn bucket(h: u64) -> u32 {
    let mut z = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) as usize % DIM) as u32
}

/// Deterministic shuffles.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// An item's text as the site layer reads it (its distinct words and features). Pure, so it can be
/// worked out on any thread, then added in order with [`SiteLearner::add_read`].
#[derive(Debug, Clone, Default)]
pub struct Read {
    words: Vec<u64>,
    buckets: Vec<u32>,
}

impl Read {
    pub fn of(summary: &str, description: &str) -> Read {
        EXTRACT.with(|cell| {
            let mut e = cell.borrow_mut();
            e.run(summary, description);
            Read { words: e.words.clone(), buckets: e.buckets.clone() }
        })
    }

    /// Its features (hashed buckets), sorted and distinct: what routing learns from too.
    pub fn features(&self) -> &[u32] {
        &self.buckets
    }
}

/// A distinct word of an item, for explanations.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unigram {
    pub(super) bucket: u32,
    hash: u64,
    /// Its first occurrence (word number), and its lower-cased text in [`Extract::lower`].
    at: usize,
    pub(super) text: (usize, usize),
}

/// Feature extraction into reused buffers: words (lower-cased runs of letters and digits, 2 to 30
/// characters, not all digits), each word, each pair of neighbouring words within a field, and the
/// summary's words once more as summary words.
#[derive(Debug, Default)]
pub(super) struct Extract {
    /// Sorted, distinct buckets.
    pub(super) buckets: Vec<u32>,
    /// Distinct word hashes (for document frequencies).
    words: Vec<u64>,
    /// With words kept: each distinct word, and the lower-cased words they point into.
    pub(super) unigrams: Vec<Unigram>,
    pub(super) lower: String,
    word: String,
    /// The input the buffers hold the features of (`None`: nothing yet), and whether with words.
    last: Option<bool>,
    last_summary: String,
    last_description: String,
}

/// Hash seeds that keep the kinds of features apart.
const SEED_WORD: u64 = FNV_OFFSET;
const SEED_SUMMARY: u64 = 0x5355_4d4d_4152_5921;
const SEED_PAIR: u64 = 0x5041_4952_5f5f_5f5f;

impl Extract {
    pub(super) fn run(&mut self, summary: &str, description: &str) {
        self.extract(summary, description, false);
    }

    pub(super) fn run_with_words(&mut self, summary: &str, description: &str) {
        self.extract(summary, description, true);
    }

    fn extract(&mut self, summary: &str, description: &str, keep_words: bool) {
        let description = clip(description, MAX_DESCRIPTION);
        // The same text as last time: the buffers hold its features already.
        if self.last.is_some_and(|with_words| with_words || !keep_words)
            && self.last_summary == summary
            && self.last_description == description
        {
            return;
        }
        self.last = None;
        self.buckets.clear();
        self.words.clear();
        self.unigrams.clear();
        self.lower.clear();
        for (text, in_summary) in [(summary, true), (description, false)] {
            let mut previous: Option<u64> = None;
            let bytes = text.as_bytes();
            let mut i = 0;
            loop {
                self.word.clear();
                let mut digits_only = true;
                // A run of letters and digits, lower-cased (ASCII byte by byte, the rest by char).
                while let Some(&b) = bytes.get(i) {
                    if b.is_ascii() {
                        if !b.is_ascii_alphanumeric() {
                            break;
                        }
                        self.word.push(char::from(b.to_ascii_lowercase()));
                        digits_only &= b.is_ascii_digit();
                        i += 1;
                    } else {
                        let Some(c) = text[i..].chars().next().filter(|c| c.is_alphanumeric()) else { break };
                        self.word.extend(c.to_lowercase());
                        digits_only = false;
                        i += c.len_utf8();
                    }
                }
                let ended = i >= bytes.len();
                let length = if self.word.is_ascii() { self.word.len() } else { self.word.chars().count() };
                if (2..=30).contains(&length) && !digits_only {
                    let h = fnv(self.word.as_bytes(), SEED_WORD);
                    let b = bucket(h);
                    self.buckets.push(b);
                    self.words.push(h);
                    if keep_words {
                        let start = self.lower.len();
                        self.lower.push_str(&self.word);
                        let at = self.unigrams.len();
                        self.unigrams.push(Unigram { bucket: b, hash: h, at, text: (start, self.lower.len()) });
                    }
                    if in_summary {
                        self.buckets.push(bucket(fnv(self.word.as_bytes(), SEED_SUMMARY)));
                    }
                    if let Some(p) = previous {
                        self.buckets.push(bucket(p.rotate_left(17) ^ h ^ SEED_PAIR));
                    }
                    previous = Some(h);
                } else if !self.word.is_empty() {
                    // A number or an over-long token breaks the pair chain.
                    previous = None;
                }
                if ended {
                    break;
                }
                // Skip the separator; a sentence end breaks the pair chain.
                let separator = text[i..].chars().next().unwrap_or(' ');
                i += separator.len_utf8();
                if matches!(separator, '.' | '!' | '?' | '\n' | ';' | ':') {
                    previous = None;
                }
            }
        }
        self.buckets.sort_unstable();
        self.buckets.dedup();
        self.words.sort_unstable();
        self.words.dedup();
        // Each word once, where it first occurs.
        self.unigrams.sort_unstable_by_key(|u| (u.hash, u.at));
        self.unigrams.dedup_by_key(|u| u.hash);
        self.unigrams.sort_unstable_by_key(|u| u.at);
        self.last_summary.clear();
        self.last_summary.push_str(summary);
        self.last_description.clear();
        self.last_description.push_str(description);
        self.last = Some(keep_words);
    }
}

/// The first `max` bytes of `s`, cut at a character boundary.
pub fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small site: the backlog speaks of the product, the service queue of accounts and outages.
    fn site(n: usize) -> SiteLearner {
        let mut l = SiteLearner::new(SiteOptions { min_per_role: 10, ..SiteOptions::default() });
        for i in 0..n {
            l.add(
                &format!("SHOP-{i}"),
                &format!("Checkout page renders the basket total wrong in case {i}"),
                "The storefront basket shows the wrong total after a coupon.",
                TrackerRole::Product,
                Label::Sits,
                || (),
            );
            l.add(
                &format!("INC{i}"),
                &format!("Outlook search not working for user {i}"),
                "Outlook on my laptop cannot search mail since this morning.",
                TrackerRole::Service,
                Label::Sits,
                || (),
            );
        }
        l
    }

    #[test]
    fn a_big_site_is_trained_on_a_bounded_sample_that_does_not_depend_on_the_order() {
        let options = SiteOptions { min_per_role: 10, max_per_role: 50, ..SiteOptions::default() };
        let items: Vec<(String, TrackerRole)> = (0..400)
            .map(|i| {
                if i % 4 == 0 {
                    (format!("INC{i}"), TrackerRole::Service)
                } else {
                    (format!("SHOP-{i}"), TrackerRole::Product)
                }
            })
            .collect();
        let learn = |order: &mut dyn Iterator<Item = &(String, TrackerRole)>| {
            let mut l: SiteLearner<String> = SiteLearner::new(options);
            let mut payloads_made = 0;
            for (key, role) in order {
                let text =
                    if *role == TrackerRole::Service { "Outlook search not working" } else { "Basket total wrong" };
                l.add(key, text, "", *role, Label::Sits, || {
                    payloads_made += 1;
                    key.clone()
                });
            }
            let (model, _, mut sample) = l.fit_cleaned(|_, _| Vec::new());
            sample.sort();
            (model, sample, payloads_made)
        };
        let (model, sample, made) = learn(&mut items.iter());
        let (_, reversed, _) = learn(&mut items.iter().rev());
        assert_eq!(sample, reversed, "the same sample whatever the order");
        assert_eq!(model.counts(), (300, 100), "every item read");
        let (backlog, queue) = model.learned();
        assert!((10..=50).contains(&backlog) && (10..=50).contains(&queue), "{:?}", model.learned());
        assert_eq!(backlog + queue, sample.len());
        // The payload (the rules' evidence, in the audit) is made only for items in the sample then.
        assert!(made < 400, "{made}");
        let e = model.score("INC7", "Outlook search not working", "").unwrap();
        assert!(e.service_logit > 0.0, "{e:?}");
    }

    #[test]
    fn dense_training_gives_the_models_of_training_on_the_buckets() {
        let l = site(40);
        let data = |features| Data { features, offsets: &l.offsets, service: &l.service, weights: &l.weights };
        let members: Vec<u32> = (0..l.service.len() as u32).filter(|i| i % 3 != 0).collect();
        let (w, bias) = train(&data(&l.features), DIM, members.clone(), [1.0, 1.0], 7);
        let dense = Dense::of(&l.features);
        assert!(dense.buckets.len() < DIM / 100, "{} distinct features", dense.buckets.len());
        let model = dense.model(train(&data(&dense.features), dense.buckets.len(), members, [1.0, 1.0], 7));
        assert_eq!(model.bias.to_bits(), bias.to_bits());
        assert!(model.w.iter().zip(&w).all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(w.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn learns_the_site_vocabulary_out_of_fold() {
        let model = site(40).fit();
        assert!(model.abstains().is_none());
        let svc = model.score("INC3", "Outlook search not working for user 3", "").unwrap();
        assert!(svc.service_logit > 1.0, "{svc:?}");
        let prod = model.score("SHOP-3", "Checkout page renders the basket total wrong in case 3", "").unwrap();
        assert!(prod.service_logit < -1.0, "{prod:?}");
        // The words it quotes, with how often each role uses them.
        let words = model.words("INC3", "Outlook search not working for user 3", "", true);
        let (word, backlog, service) = &words[0];
        assert!(["outlook", "search", "working", "not", "user", "for"].contains(&word.as_str()), "{words:?}");
        assert!(service > backlog, "{words:?}");
        assert!(words.len() <= 2);
    }

    #[test]
    fn an_item_sent_back_is_an_example_of_the_other_role_and_an_ignored_one_of_none() {
        // Outlook items that sat in the backlog, every one sent back by a human: they teach the
        // model that outlook is service-queue vocabulary, as if they sat there.
        let mut l = SiteLearner::new(SiteOptions { min_per_role: 10, ..SiteOptions::default() });
        for i in 0..40 {
            let (checkout, outlook) =
                (format!("Checkout basket total wrong {i}"), format!("Outlook search broken {i}"));
            l.add(&format!("SHOP-{i}"), &checkout, "", TrackerRole::Product, Label::Sits, || ());
            l.add(&format!("SHOP-{}", 100 + i), &outlook, "", TrackerRole::Product, Label::Returned, || ());
            // Ignored: would say outlook is backlog vocabulary, were it counted.
            l.add(&format!("SHOP-{}", 200 + i), &outlook, "", TrackerRole::Product, Label::Ignored, || ());
        }
        let model = l.fit();
        assert!(model.abstains().is_none(), "{:?}", model.abstains());
        let e = model.score("SHOP-103", "Outlook search broken 3", "").unwrap();
        assert!(e.service_logit > 1.0, "{e:?}");
        let words = model.words("SHOP-103", "Outlook search broken 3", "", true);
        assert!(
            words.iter().any(|(w, backlog, service)| w == "outlook" && *backlog == 40 && *service == 40),
            "{words:?}"
        );
    }

    #[test]
    fn abstains_below_the_minimum_and_says_why() {
        let model = site(5).fit();
        assert!(model.score("INC1", "Outlook search not working", "").is_none());
        assert!(model.abstains().unwrap().contains("5 backlog and 5 service-queue items"));
    }

    #[test]
    fn the_same_items_give_the_same_scores() {
        let a = site(30).fit();
        let b = site(30).fit();
        for key in ["INC1", "SHOP-7", "NEW-1"] {
            assert_eq!(a.score(key, "Outlook basket wrong", "x"), b.score(key, "Outlook basket wrong", "x"));
        }
    }

    #[test]
    fn an_item_is_scored_by_a_model_that_never_saw_it() {
        // One odd item: alone with its words in the whole site. Out of fold, nothing vouches for them.
        let mut l = site(40);
        l.add("SHOP-odd", "zyxwv qwerty", "zyxwv qwerty", TrackerRole::Product, Label::Sits, || ());
        let model = l.fit();
        let odd = model.score("SHOP-odd", "zyxwv qwerty", "zyxwv qwerty").unwrap();
        assert!(odd.service_logit.abs() < 0.5, "{odd:?}");
    }

    #[test]
    fn features_ignore_numbers_and_cut_at_sentences() {
        let mut e = Extract::default();
        e.run_with_words("Reset 1234 password. Now", "");
        let words: Vec<&str> = e.unigrams.iter().map(|u| &e.lower[u.text.0..u.text.1]).collect();
        assert_eq!(words, ["reset", "password", "now"]);
        // Three words and three summary words; no pair ("reset password" is broken by the number,
        // "password now" by the full stop).
        assert_eq!(e.buckets.len(), 6);
        assert_eq!(clip("héllo", 2), "h");
    }

    #[test]
    fn non_ascii_words_are_lowercased_and_split_like_ascii_ones() {
        let mut e = Extract::default();
        e.run_with_words("Ärger mit ÜBERSICHT—Seite · İstanbul 2024", "naïve café");
        let words: Vec<&str> = e.unigrams.iter().map(|u| &e.lower[u.text.0..u.text.1]).collect();
        // The dash and the dot are separators; "İ" lower-cases to two characters.
        assert_eq!(words, ["ärger", "mit", "übersicht", "seite", "i\u{307}stanbul", "naïve", "café"]);
    }

    #[test]
    fn the_buffers_remember_only_the_same_text() {
        let mut e = Extract::default();
        e.run("printer jam", "third floor");
        let first = e.buckets.clone();
        e.run("printer jam", "second floor");
        assert_ne!(e.buckets, first);
        e.run("printer jam", "third floor");
        assert_eq!(e.buckets, first);
        // Asked with words after a run without them, it extracts them.
        e.run_with_words("printer jam", "third floor");
        assert_eq!(e.unigrams.len(), 4);
        assert_eq!(e.buckets, first);
        e.run("", "");
        assert!(e.buckets.is_empty() && e.unigrams.is_empty());
    }
}
