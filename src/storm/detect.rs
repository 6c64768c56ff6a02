//! Finding storms: near-duplicate reports within the window, grouped, then tested for a burst.

use std::collections::HashMap;
use std::hash::BuildHasher;

use chrono::{DateTime, TimeDelta, Utc};
use twotrack_api::Item;

use super::words::{DESCRIPTION_BYTES, each_word};
use super::{Member, Storm, StormParams};
use crate::classify::Fnv;
use crate::classify::site::clip;

/// A summary word counts this many times a description word.
const SUMMARY_WEIGHT: f32 = 2.0;
/// A report's candidates are the earlier reports of the window that have one of its this many rarest
/// words.
const PROBES: usize = 6;
/// Of the earlier reports of the window that have a probe word, a report is compared with the latest
/// this many: a storm's reports follow each other closely, and on a large site a word can be in
/// thousands of the window's reports (comparing with all of them made finding storms quadratic).
const NEIGHBOURS: usize = 16;
/// A group spans at most this many windows from its first report to its last.
const MAX_SPAN_WINDOWS: i32 = 2;
/// A candidate is a storm only if that many reports in its span would happen by chance with at most
/// this probability at the site's everyday rate of such reports.
const BURST_P: f64 = 1e-9;
/// The shortest history the everyday rate is measured over: a mirror holding a few days says little
/// about how often anything happens.
const MIN_HISTORY: TimeDelta = TimeDelta::days(7);
/// The everyday rate is measured over this long before and after a candidate storm.
const RATE_HISTORY: TimeDelta = TimeDelta::days(14);
/// The shortest span a burst is measured over: reports a minute apart are still a burst of an hour.
const MIN_SPAN: TimeDelta = TimeDelta::hours(1);
/// The everyday rate is measured on at most this many reports a word (evenly spread) around a
/// candidate storm.
const RATE_SAMPLE: usize = 2048;
/// How alike (as a share of `similarity`) a report must be to a group to count towards its everyday rate.
const LIKE_SHARE: f32 = 0.5;
/// A group none of whose members resembles it as a whole is looked at again in its busiest stretch of
/// this part of the window.
const BUSIEST_PARTS: i32 = 3;
/// At most this many shared words explain a storm.
const SHOWN_WORDS: usize = 8;

/// One report as the detector keeps it: only what finding storms needs (what a storm shows of its
/// members is kept beside it, or read back for the members alone: see [`Detector::lean`]).
struct Doc {
    /// Where its key is in [`Detector::keys`] (start, end): one allocation for every key, not one each.
    key: (u32, u32),
    created: DateTime<Utc>,
    /// The tracker, as an index into [`Detector::trackers`].
    tracker: u16,
    urgency: Option<u8>,
    /// The order it was added in: its words are `words.get(added)`, and what a storm shows of it
    /// `shown[added]`.
    added: u32,
}

/// What a storm shows of a report besides its tracker, key, time and urgency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shown {
    pub url: String,
    pub summary: String,
    pub filed_type: String,
    pub reporter: Option<String>,
}

impl Shown {
    fn of(item: &Item) -> Shown {
        Shown {
            url: item.url.clone(),
            summary: item.summary.clone(),
            filed_type: item.filed_type.clone(),
            reporter: item.reporter.clone(),
        }
    }
}

/// A word of a report before [`Detector::finish`]: its id shifted left by one, the low bit clear for a
/// summary word (which weighs [`SUMMARY_WEIGHT`]) and set for a description word (1).
type Raw = u32;

/// Collects open items one at a time (as the audit streams them), then finds the storms among them.
///
/// Memory per report: its key, time and tracker, and a byte or two a distinct word (packed) (no copy of its text
/// unless kept for what a storm shows: [`Detector::new`] keeps it, [`Detector::lean`] reads it back
/// for the members of the storms found).
pub struct Detector<'p> {
    params: &'p StormParams,
    vocab: HashMap<String, u32, Fnv>,
    trackers: Vec<String>,
    docs: Vec<Doc>,
    /// Every report's key, one after the other (see [`Doc::key`]).
    keys: String,
    /// Every report's words: report `k` (in the order added) has `words.get(k)`, sorted by id.
    words: Packed,
    /// A report's words while it is added.
    scratch: Vec<Raw>,
    /// What a storm shows of each report (in the order added), where kept.
    shown: Option<Vec<Shown>>,
}

/// The storms among `items` (urgency unknown): [`Detector`] in one call.
pub fn detect(items: &[Item], params: &StormParams) -> Vec<Storm> {
    let mut d = Detector::new(params);
    for item in items {
        d.add(item, None);
    }
    d.finish()
}

/// A report's words as the detector counts them, read off its text: each distinct word once, at its
/// heaviest field (the summary's before the description's). Reading is most of what adding a report
/// costs, and needs nothing of the detector, so the audit reads on its workers and only adds in order.
pub struct Reading {
    /// The report's tracker, key and creation time.
    tracker: String,
    key: String,
    created: DateTime<Utc>,
    /// The words' text, one after the other.
    text: String,
    /// Where each word ends in `text`, and whether it is the description's (not the summary's).
    ends: Vec<(u32, bool)>,
}

thread_local! {
    /// [`each_word`]'s scratch space, one per thread.
    static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl Reading {
    /// The words of `item`.
    pub fn of(item: &Item) -> Reading {
        SCRATCH.with_borrow_mut(|buf| Reading::of_with(item, buf))
    }

    fn of_with(item: &Item, buf: &mut String) -> Reading {
        let mut all = String::new();
        // (hash, start, end, is a description word): sorted by hash first, the text only where two
        // hashes are equal, which is far cheaper than comparing every pair of words by their text.
        let mut spans: Vec<(u64, u32, u32, bool)> = Vec::new();
        let mut push = |word: &str, description: bool| {
            let start = all.len() as u32;
            all.push_str(word);
            spans.push((Fnv::default().hash_one(word), start, all.len() as u32, description));
        };
        each_word(&item.summary, buf, |w| push(w, false));
        each_word(clip(&item.description, DESCRIPTION_BYTES), buf, |w| push(w, true));
        let word =
            |&(_, start, end, _): &(u64, u32, u32, bool)| all.get(start as usize..end as usize).unwrap_or_default();
        // One entry a word, at its heaviest field (the summary's sorts first). The order of the words
        // does not matter to the detector (it sorts a report's words by their ids).
        spans.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| word(a).cmp(word(b))).then(a.3.cmp(&b.3)));
        spans.dedup_by(|later, first| later.0 == first.0 && word(later) == word(first));
        let mut reading = Reading {
            tracker: item.tracker.clone(),
            key: item.key.clone(),
            created: item.created,
            text: String::with_capacity(all.len()),
            ends: Vec::with_capacity(spans.len()),
        };
        for span in &spans {
            reading.text.push_str(word(span));
            reading.ends.push((reading.text.len() as u32, span.3));
        }
        reading
    }

    fn words(&self) -> impl Iterator<Item = (&str, bool)> {
        let mut start = 0;
        self.ends.iter().map(move |&(end, description)| {
            let word = self.text.get(start..end as usize).unwrap_or_default();
            start = end as usize;
            (word, description)
        })
    }
}

impl<'p> Detector<'p> {
    /// A detector that keeps what a storm shows of every report (its summary, link, type and reporter).
    pub fn new(params: &'p StormParams) -> Self {
        Detector { shown: Some(Vec::new()), ..Detector::lean(params) }
    }

    /// A detector that keeps only what finding storms needs: what a storm shows of its members is read
    /// back in [`Detector::finish_reading`] (for a large site, where a copy of every report's text would
    /// cost more than the words).
    pub fn lean(params: &'p StormParams) -> Self {
        Detector {
            params,
            vocab: HashMap::default(),
            trackers: Vec::new(),
            docs: Vec::new(),
            keys: String::new(),
            words: Packed::default(),
            scratch: Vec::new(),
            shown: None,
        }
    }

    /// Add an item (the audit adds the open ones), with the urgency the classifier read in it.
    pub fn add(&mut self, item: &Item, urgency: Option<u8>) {
        if self.params.enabled {
            self.push(Reading::of(item), urgency, || Shown::of(item));
        }
    }

    /// Add an item whose words were read already ([`Reading::of`], on any thread): [`Detector::add`]
    /// with the tokenising done elsewhere.
    /// A detector that keeps what storms show ([`Detector::new`]) shows nothing of a report added this
    /// way: it is for a [`Detector::lean`] one.
    /// Room ahead for up to `reports` reports (the items of the mirror, say): the array of reports then
    /// never grows by copying itself into one twice as large (at 1,000,000 items per tracker, 29 MB
    /// more for a moment); room not used is never written to, so it takes no memory.
    pub fn expect(&mut self, reports: usize) {
        if self.params.enabled {
            self.docs.reserve_exact(reports.saturating_sub(self.docs.len()));
        }
    }

    pub fn add_read(&mut self, reading: Reading, urgency: Option<u8>) {
        if self.params.enabled {
            self.push(reading, urgency, Shown::default);
        }
    }

    fn push(&mut self, reading: Reading, urgency: Option<u8>, shown: impl FnOnce() -> Shown) {
        let key_end = u32::try_from(self.keys.len() + reading.key.len());
        let (Ok(added), Ok(key_end), Some(tracker)) =
            (u32::try_from(self.docs.len()), key_end, self.tracker(&reading.tracker))
        else {
            // Four billion reports or bytes of keys, or 65,536 trackers: past what one audit holds.
            return;
        };
        let mut ids = std::mem::take(&mut self.scratch);
        ids.clear();
        let vocab = &mut self.vocab;
        for (word, description) in reading.words() {
            let id = match vocab.get(word) {
                Some(&id) => id,
                None => {
                    let next = vocab.len() as u32;
                    vocab.insert(word.to_string(), next);
                    next
                }
            };
            ids.push(id << 1 | u32::from(description));
        }
        // Each word once already: in the order of their ids.
        ids.sort_unstable();
        let pushed = self.words.push(&ids);
        self.scratch = ids;
        if !pushed {
            // Four billion bytes of words among 65,536 reports: past what one audit holds.
            return;
        }
        let key = (self.keys.len() as u32, key_end);
        self.keys.push_str(&reading.key);
        if let Some(kept) = &mut self.shown {
            kept.push(shown());
        }
        self.docs.push(Doc { key, created: reading.created, tracker, urgency, added });
    }

    /// The index of `name` among the trackers seen.
    fn tracker(&mut self, name: &str) -> Option<u16> {
        let at = match self.trackers.iter().position(|t| t == name) {
            Some(at) => at,
            None => {
                self.trackers.push(name.to_string());
                self.trackers.len() - 1
            }
        };
        u16::try_from(at).ok()
    }

    /// The storms, in order of their first report.
    pub fn finish(self) -> Vec<Storm> {
        match self.finish_reading(|_, _| Ok::<_, std::convert::Infallible>(None)) {
            Ok(storms) => storms,
            Err(never) => match never {},
        }
    }

    /// The storms, in order of their first report, with what they show of each member from what was
    /// kept or, for a [`Detector::lean`] one, from `read(tracker, key)` (`None`: shown empty).
    pub fn finish_reading<E>(
        self,
        mut read: impl FnMut(&str, &str) -> Result<Option<Item>, E>,
    ) -> Result<Vec<Storm>, E> {
        let Detector { params, vocab, trackers, mut docs, keys, words, shown, .. } = self;
        let key = |d: &Doc| keys.get(d.key.0 as usize..d.key.1 as usize).unwrap_or_default();
        if !params.enabled || docs.len() < params.min_size.max(2) {
            return Ok(Vec::new());
        }
        // Word ids by how many reports have them, the most first (alphabetically among as many), and
        // reports by arrival: the result cannot depend on the order items were added in. Common words
        // get small ids, so a report's sorted ids sit close together and pack into fewer bytes.
        let mut df = vec![0u32; vocab.len()];
        for k in 0..words.len() {
            for w in words.get(k) {
                df[(w >> 1) as usize] += 1;
            }
        }
        let mut names: Vec<(std::cmp::Reverse<u32>, String, u32)> =
            vocab.into_iter().map(|(name, id)| (std::cmp::Reverse(df[id as usize]), name, id)).collect();
        names.sort_unstable();
        let mut rank = vec![0u32; names.len()];
        for (r, (count, _, id)) in names.iter().enumerate() {
            rank[*id as usize] = r as u32;
            df[r] = count.0;
        }
        let names: Vec<String> = names.into_iter().map(|(_, n, _)| n).collect();
        // Unstable (no scratch memory): the order it was added in tells apart only the same item added twice.
        docs.sort_unstable_by(|a, b| {
            (a.created, &trackers[usize::from(a.tracker)], key(a), a.added).cmp(&(
                b.created,
                &trackers[usize::from(b.tracker)],
                key(b),
                b.added,
            ))
        });
        let n = docs.len() as f32;
        let idf: Vec<f32> = df.iter().map(|&f| (n / f as f32).ln()).collect();
        // Each report's unit-length TF-IDF vector, sorted by word: its words renumbered by rank, with
        // its norm beside it; the weights are worked out when read. No array of (word, weight) pairs:
        // at 1,000,000 items per tracker that was about 500 MB.
        let mut vectors = Packed::default();
        let mut norms = Vec::with_capacity(docs.len());
        let mut ranked: Vec<u32> = Vec::new();
        // Each report's words are read once here, and given back chunk by chunk as the vectors grow.
        words.into_each(|words| {
            ranked.clear();
            // A word no other report has cannot make two reports alike; it would only dilute the
            // words they share (more so on a small site, where every word is rarer).
            ranked
                .extend(words.map(|w| rank[(w >> 1) as usize] << 1 | (w & 1)).filter(|&e| df[(e >> 1) as usize] >= 2));
            ranked.sort_unstable();
            let length = ranked.iter().map(|&e| weight(e, &idf) * weight(e, &idf)).sum::<f32>().sqrt();
            norms.push(if length > 0.0 { length } else { 1.0 });
            vectors.push(&ranked);
        });
        drop(rank);
        let words = vectors;
        let order: Vec<u32> = docs.iter().map(|d| d.added).collect();
        let vectors = Vectors { words, norms, order, idf };
        let site = Site { docs: &docs, vectors: &vectors, df: &df, names: &names, params };
        let groups = site.groups();
        let mut storms = Vec::new();
        for found in site.storms(groups) {
            let members = found
                .core
                .iter()
                .map(|&(i, s)| {
                    let d = &docs[i];
                    let tracker = &trackers[usize::from(d.tracker)];
                    let shown = match &shown {
                        Some(shown) => shown[d.added as usize].clone(),
                        None => read(tracker, key(d))?.as_ref().map(Shown::of).unwrap_or_default(),
                    };
                    Ok(Member {
                        tracker: tracker.clone(),
                        key: key(d).to_string(),
                        url: shown.url,
                        summary: shown.summary,
                        filed_type: shown.filed_type,
                        reporter: shown.reporter,
                        created: d.created,
                        urgency: d.urgency,
                        similarity: (s * 1000.0).round() / 1000.0,
                    })
                })
                .collect::<Result<Vec<Member>, E>>()?;
            let mut people: Vec<String> = members.iter().filter_map(|m| m.reporter.as_deref().map(person)).collect();
            people.sort_unstable();
            people.dedup();
            storms.push(Storm {
                words: found.words,
                reporters: people.len(),
                members,
                first: found.first,
                last: found.last,
                expected: found.expected,
            });
        }
        storms.sort_by(|a, b| (a.first, a.anchor()).cmp(&(b.first, b.anchor())));
        Ok(storms)
    }
}

/// Every report's TF-IDF vector: its words by rank, each shifted left by one with the low bit set for
/// a description word, in the order the reports were added (`words.get(k)`), sorted; the weights are
/// worked out as they are read.
struct Vectors {
    words: Packed,
    /// Per report (in the order added), the length its weights are divided by.
    norms: Vec<f32>,
    /// Report `i` in arrival order is report `order[i]` in the order added.
    order: Vec<u32>,
    idf: Vec<f32>,
}

impl Vectors {
    /// Report `i`'s vector (`i` in arrival order): (word, weight), sorted by word.
    fn of(&self, i: usize) -> impl Iterator<Item = (u32, f32)> + Clone + '_ {
        let k = self.order[i] as usize;
        let norm = self.norms[k];
        self.words.get(k).map(move |e| (e >> 1, weight(e, &self.idf) / norm))
    }

    /// Report `i`'s words (`i` in arrival order), without their weights.
    fn words_of(&self, i: usize) -> impl Iterator<Item = u32> + '_ {
        self.words.get(self.order[i] as usize).map(|e| e >> 1)
    }
}

/// Lists of increasing numbers (each report's word ids), one after the other, each number stored as
/// its difference from the one before in a LEB128 varint: a report's words, sorted, sit close
/// together, so most take one or two bytes instead of four. At 1,000,000 items per tracker the
/// detector holds the words of 1.6 million open reports, 27 million in all. Kept in chunks of
/// [`CHUNK`] lists, so that none is one huge allocation to grow and lists read once can be given
/// back as they are read ([`Packed::into_each`]).
#[derive(Default)]
struct Packed {
    chunks: Vec<Chunk>,
    len: usize,
}

/// Lists per chunk of [`Packed`].
const CHUNK: usize = 1 << 16;

#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    /// Where list `k` of the chunk ends in `bytes` (it starts where `k - 1` ends).
    ends: Vec<u32>,
}

impl Packed {
    /// Add a list (strictly increasing); false, adding nothing, past four billion bytes in a chunk.
    fn push(&mut self, increasing: &[u32]) -> bool {
        if self.chunks.last().is_none_or(|c| c.ends.len() >= CHUNK) {
            self.chunks.push(Chunk::default());
        }
        let Some(chunk) = self.chunks.last_mut() else { return false };
        let before = chunk.bytes.len();
        let mut last = 0;
        for &v in increasing {
            let mut delta = v.wrapping_sub(last);
            last = v;
            while delta >= 0x80 {
                chunk.bytes.push((delta as u8) | 0x80);
                delta >>= 7;
            }
            chunk.bytes.push(delta as u8);
        }
        match u32::try_from(chunk.bytes.len()) {
            Ok(end) => {
                chunk.ends.push(end);
                self.len += 1;
                true
            }
            Err(_) => {
                chunk.bytes.truncate(before);
                false
            }
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    /// List `k`.
    fn get(&self, k: usize) -> Unpacked<'_> {
        self.chunks.get(k / CHUNK).map_or(Unpacked { bytes: &[], last: 0 }, |chunk| chunk.list(k % CHUNK))
    }

    /// Each list in order, each chunk's memory given back once its lists have been read.
    fn into_each(self, mut each: impl FnMut(Unpacked<'_>)) {
        for chunk in self.chunks {
            (0..chunk.ends.len()).for_each(|k| each(chunk.list(k)));
        }
    }
}

impl Chunk {
    /// The chunk's list `k` (empty past its end).
    fn list(&self, k: usize) -> Unpacked<'_> {
        let start = if k == 0 { 0 } else { self.ends.get(k - 1).map_or(0, |&e| e as usize) };
        let end = self.ends.get(k).map_or(start, |&e| e as usize);
        Unpacked { bytes: self.bytes.get(start..end).unwrap_or_default(), last: 0 }
    }
}

/// The numbers of one list of [`Packed`], in order.
#[derive(Clone)]
struct Unpacked<'a> {
    bytes: &'a [u8],
    last: u32,
}

impl Iterator for Unpacked<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        let mut delta = u32::from(first);
        if first >= 0x80 {
            // Rare: a gap of 128 or more.
            delta &= 0x7f;
            let mut shift = 7;
            while let Some((&b, rest)) = self.bytes.split_first() {
                self.bytes = rest;
                delta |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
                if b < 0x80 {
                    break;
                }
                shift += 7;
            }
        }
        self.last = self.last.wrapping_add(delta);
        Some(self.last)
    }
}

/// A word's weight in a report before its vector is made unit length: its rarity, doubled in a summary.
fn weight(e: u32, idf: &[f32]) -> f32 {
    let field = if e & 1 == 0 { SUMMARY_WEIGHT } else { 1.0 };
    field * idf[(e >> 1) as usize]
}

/// The reports that have each of a few words, in arrival order: only the words a round of the storm
/// tests asks about (the postings of every word would take as much memory as the vectors).
struct Postings {
    /// Per word id: where its posting is in `of`, plus one (zero for a word not asked about).
    slot: Vec<u32>,
    of: Vec<Vec<u32>>,
}

impl Postings {
    /// The postings of `words`, in one pass over every report.
    fn of_words(vectors: &Vectors, reports: usize, vocabulary: usize, words: impl Iterator<Item = u32>) -> Postings {
        let mut postings = Postings { slot: vec![0; vocabulary], of: Vec::new() };
        for t in words {
            if postings.slot[t as usize] == 0 {
                postings.of.push(Vec::new());
                postings.slot[t as usize] = postings.of.len() as u32;
            }
        }
        if postings.of.is_empty() {
            return postings;
        }
        for i in 0..reports {
            for t in vectors.words_of(i) {
                if let Some(posting) =
                    postings.slot[t as usize].checked_sub(1).and_then(|s| postings.of.get_mut(s as usize))
                {
                    posting.push(i as u32);
                }
            }
        }
        postings
    }

    fn of(&self, t: u32) -> &[u32] {
        match self.slot.get(t as usize).and_then(|s| s.checked_sub(1)) {
            Some(s) => &self.of[s as usize],
            None => &[],
        }
    }
}

/// For each word, the latest [`NEIGHBOURS`] reports that have it (of those seen so far, in arrival
/// order): all that finding a report's alike earlier reports reads of the postings, kept in a ring
/// per word as the reports are gone through in order.
struct Rings {
    /// Word `t`'s ring is `slots[start[t]..start[t + 1]]` (room for its reports, up to [`NEIGHBOURS`]).
    start: Vec<usize>,
    /// Per word, the reports pushed so far: the next goes to `pushed % room`.
    pushed: Vec<u32>,
    slots: Vec<u32>,
}

impl Rings {
    fn new(df: &[u32]) -> Rings {
        let mut start = Vec::with_capacity(df.len() + 1);
        start.push(0);
        for &f in df {
            start.push(start[start.len() - 1] + (f as usize).min(NEIGHBOURS));
        }
        let slots = vec![0; start[df.len()]];
        Rings { start, pushed: vec![0; df.len()], slots }
    }

    fn push(&mut self, t: u32, report: u32) {
        let t = t as usize;
        let (from, room) = (self.start[t], self.start[t + 1] - self.start[t]);
        if room > 0 {
            self.slots[from + self.pushed[t] as usize % room] = report;
            self.pushed[t] += 1;
        }
    }

    /// The latest reports pushed for word `t`, oldest first.
    fn latest(&self, t: u32) -> impl Iterator<Item = u32> + '_ {
        let t = t as usize;
        let ring = &self.slots[self.start[t]..self.start[t + 1]];
        let pushed = self.pushed[t] as usize;
        let (older, newer) = if pushed <= ring.len() {
            (&ring[..pushed], &ring[..0])
        } else {
            let next = pushed % ring.len();
            (&ring[next..], &ring[..next])
        };
        older.iter().chain(newer).copied()
    }
}

/// A group that passed the size threshold and the burst test: its core (report, cosine to the centroid)
/// in arrival order, before what it shows of them is read.
struct Found {
    core: Vec<(usize, f64)>,
    words: Vec<String>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    expected: f64,
}

/// A group's core (report, cosine to the group's centroid), with the centroid and its rarest words.
struct Core {
    group: Vec<usize>,
    centroid: Vec<(u32, f32)>,
    core: Vec<(usize, f64)>,
    probes: Vec<u32>,
}

/// A core grown by its window's like reports: its members in arrival order, their centroid and span,
/// the words it shows and those its everyday rate is measured by.
struct Grown {
    core: Vec<(usize, f64)>,
    indices: Vec<usize>,
    centroid: Vec<(u32, f32)>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    words: Vec<String>,
    rate: Vec<u32>,
}

/// The reports of a site as vectors, in arrival order.
struct Site<'a> {
    docs: &'a [Doc],
    vectors: &'a Vectors,
    df: &'a [u32],
    names: &'a [String],
    params: &'a StormParams,
}

impl Site<'_> {
    /// Groups of near-duplicates (each at least `min_size` reports), as report indices in order.
    ///
    /// The reports are gone through in arrival order: one thread reads each report's candidates off
    /// the rings of its words ([`Rings`]: no postings of every word), the workers compare them
    /// (most of the cost), and the groups are joined on this thread, in arrival order, so they are the
    /// same on any number of cores.
    fn groups(&self) -> Vec<Vec<usize>> {
        let docs = self.docs;
        let mut sets = UnionFind::new(docs.len());
        let longest = (self.params.window * MAX_SPAN_WINDOWS).num_seconds();
        // Each report's candidates, read off the rings on the thread that deals the reports (the rings
        // follow the arrival order); the workers compare.
        let (mut rings, mut seen, mut probes) = (Rings::new(self.df), vec![u32::MAX; docs.len()], Vec::new());
        let reports = (0..docs.len()).map(move |i| {
            let candidates = self.candidates(i, &mut rings, &mut seen, &mut probes);
            Ok::<_, std::convert::Infallible>((i, candidates))
        });
        let spread = || Spread(vec![0.0; self.names.len()]);
        let alike =
            |spread: &mut Spread, (i, candidates): (usize, Vec<u32>)| Some((i, self.alike(spread, i, candidates)));
        let join = |(i, alike): (usize, Vec<u32>)| {
            for j in alike {
                // A group never spans more than a burst can: where near-duplicates are everyday
                // traffic (a large site's password resets), chains of them would otherwise join one
                // group across the whole history, the storms in it.
                let (a, b) = (sets.find(i), sets.find(j as usize));
                if self.time(i) - self.time(a.min(b)) <= longest {
                    sets.union(a, b);
                }
            }
            Ok::<(), std::convert::Infallible>(())
        };
        let Ok(()) = crate::parallel::map_in_order_with(reports, crate::parallel::workers(), spread, alike, join);
        // The groups large enough, each listed as it starts (its root is its first report): one
        // count per report, not a list per report.
        let mut size = vec![0u32; docs.len()];
        for i in 0..docs.len() {
            size[sets.find(i)] += 1;
        }
        let mut out: Vec<Vec<usize>> = Vec::new();
        let mut at: HashMap<usize, usize> = HashMap::new();
        for i in 0..docs.len() {
            let root = sets.find(i);
            if (size[root] as usize) < self.params.min_size {
                continue;
            }
            let group = *at.entry(root).or_insert_with(|| {
                out.push(Vec::with_capacity(size[root] as usize));
                out.len() - 1
            });
            out[group].push(i);
        }
        out
    }

    /// Report `i`'s creation time in seconds (worked out when read: an array of them was 13 MB at
    /// 1,000,000 items per tracker).
    fn time(&self, i: usize) -> i64 {
        self.docs[i].created.timestamp()
    }

    /// The earlier reports of report `i`'s window that may be alike: for each of its rarest words,
    /// the latest few earlier reports of the window that have it, each once, in the order they are to
    /// be compared. Then report `i` joins the rings of its words. Called for every report in order.
    fn candidates(&self, i: usize, rings: &mut Rings, seen: &mut [u32], probes: &mut Vec<u32>) -> Vec<u32> {
        let since = (self.docs[i].created - self.params.window).timestamp();
        let mut out = Vec::new();
        self.rarest_into(self.vectors.of(i), PROBES, probes);
        for &t in probes.iter() {
            // Oldest first, all earlier than `i`; the window's are the latest (times only grow).
            for j in rings.latest(t) {
                if self.time(j as usize) < since || seen[j as usize] == i as u32 {
                    continue;
                }
                seen[j as usize] = i as u32;
                out.push(j);
            }
        }
        for t in self.vectors.words_of(i) {
            rings.push(t, i as u32);
        }
        out
    }

    /// Of report `i`'s `candidates`, those alike enough to join its group, in the order they are to
    /// be joined.
    fn alike(&self, spread: &mut Spread, i: usize, mut candidates: Vec<u32>) -> Vec<u32> {
        let similarity = self.params.similarity as f32;
        let terms = self.vectors.of(i);
        spread.set(terms.clone());
        candidates.retain(|&j| spread.dot(self.vectors.of(j as usize)) >= similarity);
        spread.clear(terms);
        candidates
    }

    /// The reports of `posting` created from `from` to `to`.
    fn during<'p>(&self, posting: &'p [u32], from: DateTime<Utc>, to: DateTime<Utc>) -> &'p [u32] {
        let (from, to) = (from.timestamp(), to.timestamp());
        let start = posting.partition_point(|&j| self.time(j as usize) < from);
        let end = posting.partition_point(|&j| self.time(j as usize) <= to);
        &posting[start..end.max(start)]
    }

    /// Up to `k` words of `terms` that other reports share, the rarest (heaviest) first.
    fn rarest(&self, terms: impl Iterator<Item = (u32, f32)>, k: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(k);
        self.rarest_into(terms, k, &mut out);
        out
    }

    /// [`Site::rarest`] into `out`: the `k` heaviest picked without sorting them all.
    fn rarest_into(&self, terms: impl Iterator<Item = (u32, f32)>, k: usize, out: &mut Vec<u32>) {
        out.clear();
        let mut shared: Vec<(u32, f32)> = terms.filter(|t| self.df[t.0 as usize] >= 2).collect();
        let heavier = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if k == 0 {
            return;
        }
        if shared.len() > k {
            shared.select_nth_unstable_by(k - 1, heavier);
            shared.truncate(k);
        }
        shared.sort_unstable_by(heavier);
        out.extend(shared.iter().map(|t| t.0));
    }

    /// The groups that are storms: each group's core must pass the size threshold and, grown by the
    /// reports of its window that resemble it as a whole, the burst test. In three rounds, each
    /// reading the postings of only the words its groups ask about.
    fn storms(&self, groups: Vec<Vec<usize>>) -> Vec<Found> {
        let mut spread = Spread(vec![0.0; self.names.len()]);
        let (reports, vocabulary) = (self.docs.len(), self.names.len());
        let cores: Vec<Core> = groups.into_iter().filter_map(|g| self.core_or_busiest(g, &mut spread)).collect();
        let postings =
            Postings::of_words(self.vectors, reports, vocabulary, cores.iter().flat_map(|c| c.probes.iter().copied()));
        let grown: Vec<Grown> = cores.into_iter().filter_map(|c| self.grow(c, &postings, &mut spread)).collect();
        drop(postings);
        let postings =
            Postings::of_words(self.vectors, reports, vocabulary, grown.iter().flat_map(|g| g.rate.iter().copied()));
        grown.into_iter().filter_map(|g| self.burst(g, &postings, &mut spread)).collect()
    }

    /// The core of a group ([`Site::core`]); where too few members resemble the group as a whole, the
    /// core of its busiest stretch: on a busy site, chains of everyday near-duplicates can join an
    /// outage's reports into a group of hundreds spread over half a day, whose centroid resembles
    /// none of them, while the outage's reports crowd one stretch of it.
    fn core_or_busiest(&self, group: Vec<usize>, spread: &mut Spread) -> Option<Core> {
        let group = match self.core(group, spread) {
            Ok(core) => return Some(core),
            Err(group) => group,
        };
        let stretch = self.params.window / BUSIEST_PARTS;
        // The members in arrival order: the longest run within `stretch` of its first.
        let (mut best, mut start) = ((0, 0), 0);
        for end in 0..group.len() {
            while self.docs[group[end]].created - self.docs[group[start]].created > stretch {
                start += 1;
            }
            if end + 1 - start > best.1 - best.0 {
                best = (start, end + 1);
            }
        }
        if best.1 - best.0 < self.params.min_size || best.1 - best.0 == group.len() {
            return None;
        }
        self.core(group[best.0..best.1].to_vec(), spread).ok()
    }

    /// The core of a group: the members that resemble the group as a whole (a chain of pairs can
    /// drift), if enough of them do (else the group back).
    fn core(&self, group: Vec<usize>, spread: &mut Spread) -> Result<Core, Vec<usize>> {
        let similarity = self.params.similarity;
        let centroid = self.centroid(&group);
        spread.set(centroid.iter().copied());
        let core: Vec<(usize, f64)> = group
            .iter()
            .map(|&i| (i, f64::from(spread.dot(self.vectors.of(i)))))
            .filter(|&(_, s)| s >= similarity)
            .collect();
        spread.clear(centroid.iter().copied());
        if core.len() < self.params.min_size {
            return Err(group);
        }
        let probes = self.rarest(centroid.iter().copied(), 3);
        Ok(Core { group, centroid, core, probes })
    }

    /// A core grown by the reports of its window that resemble no single other report closely enough,
    /// but the group as a whole (an unusual wording of the same outage); `None` if its members share
    /// no word.
    fn grow(&self, c: Core, postings: &Postings, spread: &mut Spread) -> Option<Grown> {
        let Core { group, centroid, mut core, probes } = c;
        let similarity = self.params.similarity;
        let docs = self.docs;
        let (first, last) = (docs[core[0].0].created, docs[core[core.len() - 1].0].created);
        let (from, to) = (first - self.params.window, last + self.params.window);
        let mut seen: std::collections::HashSet<usize> = group.iter().copied().collect();
        spread.set(centroid.iter().copied());
        for t in probes {
            for &j in self.during(postings.of(t), from, to) {
                let j = j as usize;
                if !seen.insert(j) {
                    continue;
                }
                let s = f64::from(spread.dot(self.vectors.of(j)));
                if s >= similarity {
                    core.push((j, s));
                }
            }
        }
        spread.clear(centroid.iter().copied());
        core.sort_unstable_by_key(|c| c.0);
        let indices: Vec<usize> = core.iter().map(|c| c.0).collect();
        let centroid = self.centroid(&indices);
        let (first, last) = (docs[indices[0]].created, docs[indices[indices.len() - 1]].created);
        // Reports of one event say the same thing: a group whose members share no word (a chain of
        // pairs, each alike in other words) is no storm, and nothing would measure its everyday rate.
        let shared = self.shared(&indices);
        if shared.is_empty() {
            return None;
        }
        let words = shared.iter().take(SHOWN_WORDS).map(|&t| self.names[t as usize].clone()).collect();
        let rate = shared.into_iter().take(3).collect();
        Some(Grown { core, indices, centroid, first, last, words, rate })
    }

    /// A grown core as a storm, if that many reports in its span are unlikely at the site's everyday rate.
    fn burst(&self, g: Grown, postings: &Postings, spread: &mut Spread) -> Option<Found> {
        let Grown { core, indices, centroid, first, last, words, rate } = g;
        spread.set(centroid.iter().copied());
        let expected = self.expected(&indices, &rate, postings, spread, first, last);
        spread.clear(centroid.iter().copied());
        // Measured as the everyday rate is: the members with one of the words it is counted through.
        // A group can hold reports alike to it only as a whole, in other words (a blend of a firewall
        // request, a disk full and a new server, each with its share of the group's words): counting
        // them against a rate that never looks at such reports would find a burst in any busy day.
        let counted = core.iter().filter(|&&(i, _)| self.vectors.words_of(i).any(|t| rate.contains(&t))).count();
        if poisson_tail(counted as u64, expected) > BURST_P {
            return None;
        }
        Some(Found { core, words, first, last, expected: (expected * 1000.0).round() / 1000.0 })
    }

    /// The unit-length mean of the members' vectors, sorted by word id.
    fn centroid(&self, members: &[usize]) -> Vec<(u32, f32)> {
        let mut sum: HashMap<u32, f32> = HashMap::new();
        for &i in members {
            for (t, w) in self.vectors.of(i) {
                *sum.entry(t).or_default() += w;
            }
        }
        let mut out: Vec<(u32, f32)> = sum.into_iter().collect();
        out.sort_unstable_by_key(|t| t.0);
        let norm = out.iter().map(|t| f64::from(t.1) * f64::from(t.1)).sum::<f64>().sqrt() as f32;
        if norm > 0.0 {
            out.iter_mut().for_each(|t| t.1 /= norm);
        }
        out
    }

    /// The reports like the storm that the site's everyday rate predicts in its span: the site's other
    /// reports like its centroid (at half the similarity) in the two weeks before and after it, spread
    /// evenly over that time.
    /// `rate` are the words most of the members share (the first few of [`Site::shared`]), with their
    /// postings in `postings`.
    fn expected(
        &self,
        members: &[usize],
        rate: &[u32],
        postings: &Postings,
        centroid: &Spread,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
    ) -> f64 {
        let docs = self.docs;
        // Half as alike as a member must be: everyday tickets about the same thing count towards
        // the everyday rate even when worded apart, so a loose group of them is no burst.
        let similarity = self.params.similarity as f32 * LIKE_SHARE;
        let mut like = 0u64;
        // The everyday rate of the weeks around the storm (the whole history would cost more on a
        // large site and say less about the present).
        let (from, to) = (first - RATE_HISTORY, last + RATE_HISTORY);
        // Everything like the group shares at least one of the words most of its members share.
        let mut seen: std::collections::HashSet<u32> = members.iter().map(|&i| i as u32).collect();
        for &t in rate {
            let during = self.during(postings.of(t), from, to);
            // Where a word is in more reports than that, every `step`-th stands for `step`: an estimate
            // of a rate, whose cost does not grow with the site.
            let step = during.len().div_ceil(RATE_SAMPLE).max(1);
            for &j in during.iter().step_by(step) {
                if !seen.insert(j) {
                    continue;
                }
                if centroid.dot(self.vectors.of(j as usize)) >= similarity {
                    like += step as u64;
                }
            }
        }
        let history = (docs[docs.len() - 1].created.min(to) - docs[0].created.max(from)).max(MIN_HISTORY);
        let span = (last - first).max(MIN_SPAN);
        // One more than seen: a topic the site never had before still has some small rate.
        (like + 1) as f64 * span.num_seconds() as f64 / history.num_seconds() as f64
    }

    /// The ids of the words at least half the members share, the most shared (then the rarest) first.
    fn shared(&self, members: &[usize]) -> Vec<u32> {
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for &i in members {
            for (t, _) in self.vectors.of(i) {
                *counts.entry(t).or_default() += 1;
            }
        }
        let mut shared: Vec<(u32, usize)> = counts.into_iter().filter(|&(_, c)| c * 2 >= members.len()).collect();
        shared.sort_by(|a, b| {
            let idf = &self.vectors.idf;
            b.1.cmp(&a.1).then(idf[b.0 as usize].total_cmp(&idf[a.0 as usize])).then(a.0.cmp(&b.0))
        });
        shared.into_iter().map(|(t, _)| t).collect()
    }
}

/// A vector spread out by word id (zero elsewhere), for its dot products with many sparse vectors:
/// each costs the sparse vector's length, however many words this one has (a group's centroid has
/// the words of all its members). Cleared after use, so one allocation serves every group.
struct Spread(Vec<f32>);

impl Spread {
    fn set(&mut self, v: impl Iterator<Item = (u32, f32)>) {
        for (t, w) in v {
            self.0[t as usize] = w;
        }
    }

    fn clear(&mut self, v: impl Iterator<Item = (u32, f32)>) {
        for (t, _) in v {
            self.0[t as usize] = 0.0;
        }
    }

    /// The dot product with a sparse vector sorted by word id.
    fn dot(&self, a: impl Iterator<Item = (u32, f32)>) -> f32 {
        a.map(|(t, w)| w * self.0[t as usize]).sum()
    }
}

/// P(X >= k) for X ~ Poisson(lambda).
fn poisson_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // The terms from k upward, in log space (k! overflows long before k is large).
    let ln_fact = |n: u64| (1..=n).map(|i| (i as f64).ln()).sum::<f64>();
    let mut term = -lambda + k as f64 * lambda.ln() - ln_fact(k);
    let mut sum = 0.0;
    let mut i = k;
    loop {
        let t = term.exp();
        sum += t;
        i += 1;
        term += lambda.ln() - (i as f64).ln();
        if t < sum * 1e-12 || i > k + 10_000 {
            break;
        }
    }
    sum.min(1.0)
}

/// A reporter as a person: "Anna Smith" (Jira) and "anna.smith" (ServiceNow) are one.
fn person(reporter: &str) -> String {
    reporter.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Disjoint sets with path halving; the root of a set is its smallest index (deterministic). Indices
/// are reports, of which a detector holds fewer than 2^32 (as [`Doc::added`] counts them).
struct UnionFind(Vec<u32>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n as u32).collect())
    }

    fn find(&mut self, i: usize) -> usize {
        let mut i = i as u32;
        while self.0[i as usize] != i {
            self.0[i as usize] = self.0[self.0[i as usize] as usize];
            i = self.0[i as usize];
        }
        i as usize
    }

    fn union(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        self.0[high] = low as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: &str, minute: i64, summary: &str, reporter: &str) -> Item {
        let mut item = Item::new("servicenow", key, summary);
        item.created = DateTime::UNIX_EPOCH + TimeDelta::days(400) + TimeDelta::minutes(minute);
        item.reporter = Some(reporter.into());
        item
    }

    /// Ordinary traffic over 60 days: each ticket about something else.
    fn ordinary() -> Vec<Item> {
        let topics = [
            "Add export to CSV on the invoices page",
            "Grant access to the finance share for Bob",
            "Printer on floor 3 jams on every job",
            "Dark mode for the mobile app",
            "Reset MFA token for Carla",
            "VPN client asks for a certificate update",
            "Dashboard loads slowly for large accounts",
            "New laptop for the new hire in sales",
            "Rename the onboarding email template",
            "Database backup job failed on db01",
        ];
        (0..300)
            .map(|i| item(&format!("ORD{i}"), i * 288, topics[i as usize % topics.len()], &format!("user{}", i % 37)))
            .collect()
    }

    /// Ordinary traffic with one outage: 12 reports on day 20.
    fn with_an_outage() -> Vec<Item> {
        let mut items = ordinary();
        items.extend(outage(12, 20 * 1440));
        items
    }

    /// `d` with every one of `items` added.
    fn fed<'p>(mut d: Detector<'p>, items: &[Item]) -> Detector<'p> {
        for item in items {
            d.add(item, None);
        }
        d
    }

    fn outage(n: i64, start: i64) -> Vec<Item> {
        let wordings = [
            "Checkout is down, customers cannot pay",
            "checkout page down - payment fails",
            "Cannot complete checkout, payment page is down",
            "URGENT checkout down for all customers",
            "Payment at checkout fails with error 503",
            "checkout broken? customers can't pay",
        ];
        (0..n)
            .map(|i| {
                item(&format!("STORM{i}"), start + i * 4, wordings[i as usize % wordings.len()], &format!("caller{i}"))
            })
            .collect()
    }

    #[test]
    fn a_burst_of_one_outage_is_one_storm_and_nothing_else_is() {
        let mut items = ordinary();
        items.extend(outage(25, 30 * 1440));
        let storms = detect(&items, &StormParams::default());

        assert_eq!(storms.len(), 1, "{storms:#?}");
        let s = &storms[0];
        assert_eq!(s.members.len(), 25);
        assert!(s.members.iter().all(|m| m.key.starts_with("STORM")));
        assert_eq!(s.reporters, 25);
        assert_eq!(s.words[0], "checkout");
        assert_eq!(s.span(), TimeDelta::minutes(24 * 4));
        assert_eq!(s.anchor(), ("servicenow", "STORM0"));
    }

    /// A busy site's everyday traffic: a ticket every ten minutes for 60 days, in a few wordings that
    /// each resemble the next, one of them about the checkout.
    fn busy() -> Vec<Item> {
        let wordings = [
            "Password reset for my account please",
            "Please reset my account password, I am locked out",
            "Locked out of my account after the password change",
            "Account locked after the checkout password change",
            "Checkout asks for my account password again",
            "Checkout payment page asks for my password",
        ];
        (0..60 * 144)
            .map(|i| {
                item(&format!("DAY{i}"), i * 10, wordings[i as usize % wordings.len()], &format!("user{}", i % 97))
            })
            .collect()
    }

    #[test]
    fn everyday_near_duplicates_on_a_busy_site_neither_hide_a_storm_nor_make_one() {
        let mut items = busy();
        items.extend(outage(40, 30 * 1440 + 3));
        let storms = detect(&items, &StormParams::default());

        // Chains of everyday near-duplicates once joined the whole history into one group, the
        // outage in it, whose members then resembled nothing: no storm at all.
        assert_eq!(storms.len(), 1, "{storms:#?}");
        let s = &storms[0];
        assert!(s.members.iter().filter(|m| m.key.starts_with("STORM")).count() >= 35, "{s:#?}");
        assert!(s.members.iter().all(|m| m.key.starts_with("STORM")), "{s:#?}");
        assert!(detect(&busy(), &StormParams::default()).is_empty());
    }

    #[test]
    fn steady_traffic_is_no_storm() {
        // The same ten tickets over and over, every 4.8 hours: near-duplicates inside the window,
        // but at their everyday rate.
        assert!(detect(&ordinary(), &StormParams::default()).is_empty());
    }

    #[test]
    fn the_same_reports_spread_beyond_the_window_are_no_storm() {
        let mut items = ordinary();
        // 25 checkout reports, one every 8 hours: never two in one window.
        items.extend(outage(25, 0).into_iter().enumerate().map(|(i, mut it)| {
            it.created = DateTime::UNIX_EPOCH + TimeDelta::days(400) + TimeDelta::hours(8 * i as i64);
            it
        }));
        assert!(detect(&items, &StormParams::default()).is_empty());
    }

    #[test]
    fn below_the_size_threshold_is_no_storm() {
        let mut items = ordinary();
        items.extend(outage(4, 30 * 1440));
        assert!(detect(&items, &StormParams::default()).is_empty());
        let disabled = StormParams { enabled: false, ..StormParams::default() };
        items.extend(outage(20, 40 * 1440).into_iter().map(|mut i| {
            i.key.push('b');
            i
        }));
        assert!(detect(&items, &disabled).is_empty());
        assert_eq!(detect(&items, &StormParams::default()).len(), 1);
    }

    #[test]
    fn room_made_ahead_holds_every_report_without_growing_and_changes_no_storm() {
        let items = with_an_outage();
        let params = StormParams::default();
        let mut d = Detector::new(&params);
        d.expect(items.len() + 10);
        let room = d.docs.capacity();
        assert!(room >= items.len() + 10);
        let d = fed(d, &items);
        assert_eq!(d.docs.capacity(), room, "never grown");
        assert_eq!(d.finish(), detect(&items, &params));
        let disabled = StormParams { enabled: false, ..StormParams::default() };
        let mut off = Detector::new(&disabled);
        off.expect(1000);
        assert_eq!(off.docs.capacity(), 0, "a disabled detector keeps nothing");
    }

    #[test]
    fn the_order_items_arrive_in_does_not_change_the_storms() {
        let mut items = with_an_outage();
        let forward = detect(&items, &StormParams::default());
        items.reverse();
        let backward = detect(&items, &StormParams::default());
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), 1);
    }

    #[test]
    fn a_lean_detector_reads_back_what_its_members_show_and_finds_the_same_storms() {
        let items = with_an_outage();
        let params = StormParams::default();
        let lean = fed(Detector::lean(&params), &items);
        let mut asked = Vec::new();
        let read = lean.finish_reading(|tracker, key| {
            asked.push(key.to_string());
            Ok::<_, ()>(items.iter().find(|i| i.tracker == tracker && i.key == key).cloned())
        });
        assert_eq!(read, Ok(detect(&items, &params)));
        assert_eq!(asked.len(), 12, "only the members are read back: {asked:?}");
        // Without a reader, a lean detector's members show only what it kept.
        let storms = fed(Detector::lean(&params), &items).finish();
        assert_eq!(storms.len(), 1);
        assert!(storms[0].members.iter().all(|m| m.summary.is_empty() && m.key.starts_with("STORM")));
    }

    #[test]
    fn packed_lists_read_back_as_they_were_added() {
        let lists: Vec<Vec<u32>> = vec![
            vec![],
            vec![0],
            vec![1, 2, 3, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152],
            vec![],
            vec![5, u32::MAX - 1, u32::MAX],
            (0..1000).map(|i| i * 37 + 11).collect(),
        ];
        let mut packed = Packed::default();
        for list in &lists {
            assert!(packed.push(list));
        }
        assert_eq!(packed.len(), lists.len());
        for (k, list) in lists.iter().enumerate() {
            assert_eq!(packed.get(k).collect::<Vec<u32>>(), *list, "list {k}");
        }
        // Close numbers take a byte each.
        assert_eq!(packed.get(5).bytes.len(), 1000);
        assert_eq!(packed.get(lists.len()).count(), 0, "past the end: nothing");

        // Across chunks, read one by one or once each in order.
        let many = 2 * CHUNK + 3;
        let list = |k: usize| vec![k as u32, k as u32 + 200];
        let mut packed = Packed::default();
        for k in 0..many {
            assert!(packed.push(&list(k)));
        }
        assert_eq!(packed.len(), many);
        for k in [0, CHUNK - 1, CHUNK, 2 * CHUNK, many - 1] {
            assert_eq!(packed.get(k).collect::<Vec<u32>>(), list(k), "list {k}");
        }
        let mut k = 0;
        packed.into_each(|read| {
            assert_eq!(read.collect::<Vec<u32>>(), list(k));
            k += 1;
        });
        assert_eq!(k, many);
    }

    #[test]
    fn a_ring_keeps_the_latest_reports_of_its_word_oldest_first() {
        // Word 0 in 40 reports, word 1 in 3, word 2 in none.
        let mut rings = Rings::new(&[40, 3, 0]);
        assert_eq!(rings.latest(0).count(), 0);
        for r in 0..40 {
            rings.push(0, r);
            let latest: Vec<u32> = rings.latest(0).collect();
            let from = (r + 1).saturating_sub(NEIGHBOURS as u32);
            assert_eq!(latest, (from..=r).collect::<Vec<u32>>(), "after report {r}");
        }
        for r in [5, 9, 11] {
            rings.push(1, r);
        }
        assert_eq!(rings.latest(1).collect::<Vec<u32>>(), [5, 9, 11]);
        rings.push(2, 7);
        assert_eq!(rings.latest(2).count(), 0);
    }

    #[test]
    fn one_person_in_both_trackers_is_one_reporter() {
        assert_eq!(person("Anna Smith"), person("anna.smith"));
    }

    #[test]
    fn the_poisson_tail_matches_known_values() {
        // P(X >= 1 | 1) = 1 - e^-1.
        assert!((poisson_tail(1, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-9);
        // P(X >= 5 | 0.5) = 1.7213e-4 (tables).
        assert!((poisson_tail(5, 0.5) - 1.7213e-4).abs() < 1e-7);
        assert_eq!(poisson_tail(0, 3.0), 1.0);
        assert_eq!(poisson_tail(3, 0.0), 0.0);
        assert!(poisson_tail(500, 0.01) < 1e-300 || poisson_tail(500, 0.01) == 0.0);
    }
}
