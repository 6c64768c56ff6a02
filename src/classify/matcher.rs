//! Finding the phrase patterns in normalised text, word by word.
//!
//! A pattern is normalised phrase text: `" reset password "`, words between single spaces with a
//! space at each end, or, for a prefix (`"provision*"`), without the space at the end (`" provision"`):
//! its last word is open. Normalised ticket text has the same shape (`" word | word fact:many "`), so
//! a pattern occurs where a run of whole tokens equals its words, the last one only starting with the
//! pattern's last word for a prefix. That is exactly what a byte-level search of the patterns would
//! find, but matched a token at a time through a trie of the patterns' words: one lookup per token
//! instead of one automaton step per byte.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::text::{Fnv, FnvHasher, Normalized};

/// No such token or node.
const NONE: u32 = u32::MAX;

/// The bytes of a key that hold the first `len` bytes of a word.
fn mask(len: usize) -> u128 {
    MASKS[len.min(16)]
}

/// [`mask`] by length.
const MASKS: [u128; 17] = {
    let mut masks = [u128::MAX; 17];
    let mut len = 0;
    while len < 16 {
        masks[len] = (1u128 << (8 * len)) - 1;
        len += 1;
    }
    masks
};

/// The first 16 bytes of a word, zero-padded, as one number. Words never contain a zero byte, so
/// words of up to 16 bytes have distinct keys, and a prefix of up to 16 bytes is a masked compare.
fn key(word: &str) -> u128 {
    let b = word.as_bytes();
    let n = b.len().min(16);
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&b[..n]);
    u128::from_le_bytes(buf)
}

/// The key of the word at `text[at..end]`, read in one load where the text runs on far enough.
fn key_at(text: &[u8], at: usize, end: usize) -> u128 {
    match text.get(at..at + 16) {
        Some(bytes) => {
            let mut buf = [0u8; 16];
            buf.copy_from_slice(bytes);
            u128::from_le_bytes(buf) & mask(end - at)
        }
        None => {
            let word = &text[at..end];
            let n = word.len().min(16);
            let mut buf = [0u8; 16];
            buf[..n].copy_from_slice(&word[..n]);
            u128::from_le_bytes(buf)
        }
    }
}

/// The open last word of a prefix pattern, and the pattern's value. A prefix longer than a key is
/// also kept whole in the matcher's `long_prefixes`, by pattern.
#[derive(Debug, Clone, Copy)]
struct Prefix<T> {
    key: u128,
    len: u32,
    pattern: u32,
    value: T,
}

impl<T> Prefix<T> {
    fn new(text: &str, pattern: u32, value: T) -> Prefix<T> {
        Prefix { key: key(text), len: text.len() as u32, pattern, value }
    }
}

/// A node of the trie while it is built.
#[derive(Debug)]
struct Building<T> {
    next: Vec<(u32, u32)>,
    ends: Vec<T>,
    prefixes: Vec<Prefix<T>>,
}

impl<T> Default for Building<T> {
    fn default() -> Self {
        Building { next: Vec::new(), ends: Vec::new(), prefixes: Vec::new() }
    }
}

/// One trie node: a run of whole words. Its lists are ranges of the matcher's flat arrays.
#[derive(Debug, Clone, Copy, Default)]
struct Node {
    /// Bit `id % 64` of each next word's token id: most words that do not go on are ruled out here.
    ids: u64,
    /// The next whole word (token id) and its node, sorted by token id: `edges[next.0..next.1]`.
    next: (u32, u32),
    /// Patterns made of exactly these words: `ends[ends.0..ends.1]`.
    ends: (u32, u32),
    /// Prefix patterns: these words, then a word that starts with the prefix.
    prefixes: (u32, u32),
}

/// The patterns, compiled, each with a value to report where it occurs.
#[derive(Debug)]
pub struct Matcher<T> {
    /// The whole words in patterns, by key up to 16 bytes and by text beyond: their token ids and
    /// the root's child for them.
    short: HashMap<u128, Vocable, BuildHasherDefault<KeyHasher>>,
    long: HashMap<Box<str>, Vocable, Fnv>,
    /// Prefixes longer than a key, by pattern.
    long_prefixes: HashMap<u32, Box<str>, Fnv>,
    /// The nodes, breadth first: node 0 is the root, then the one-word runs.
    nodes: Vec<Node>,
    edges: Vec<(u32, u32)>,
    ends: Vec<T>,
    prefixes: Vec<Prefix<T>>,
    /// The root's prefix patterns by the first byte of their prefix.
    root_prefixes: Vec<Vec<Prefix<T>>>,
    /// Which words may start with one of the root's prefixes: a bit for the first three bytes of
    /// each prefix ([`head_bit`]), and by first byte, whether a prefix is shorter than that.
    root_heads: Vec<u64>,
    root_short: Vec<bool>,
}

/// The bit of [`Matcher::root_heads`] for the first three bytes of a key.
fn head_bit(key: u128) -> usize {
    let head = (key & 0xff_ffff) as u32;
    (head.wrapping_mul(0x9e37_79b1) >> 20) as usize
}

/// A word of the patterns: its token id, and the node of the one-word run (or [`NONE`] if no
/// pattern starts with it).
#[derive(Debug, Clone, Copy)]
struct Vocable {
    id: u32,
    node: u32,
}

const UNKNOWN: Vocable = Vocable { id: NONE, node: NONE };

/// A token of the text being matched: its key, what the patterns know of it, and its word index
/// (or [`NONE`] for a `|` field or sentence mark).
#[derive(Debug, Clone, Copy)]
pub struct Token {
    key: u128,
    known: Vocable,
    word: u32,
}

impl<T: Copy> Matcher<T> {
    /// Compile the patterns (normalised phrase text, see the module docs), each with its value.
    pub fn new<'a>(patterns: impl IntoIterator<Item = (&'a str, T)>) -> Matcher<T> {
        let mut m = Matcher {
            short: HashMap::default(),
            long: HashMap::default(),
            long_prefixes: HashMap::default(),
            nodes: Vec::new(),
            edges: Vec::new(),
            ends: Vec::new(),
            prefixes: Vec::new(),
            root_prefixes: Vec::new(),
            root_heads: vec![0; 4096 / 64],
            root_short: vec![false; 256],
        };
        m.root_prefixes.resize_with(256, Vec::new);
        let mut trie = vec![Building::default()];
        for (i, (pattern, value)) in patterns.into_iter().enumerate() {
            let open = !pattern.ends_with(' ');
            let mut words: Vec<&str> = pattern.split(' ').filter(|w| !w.is_empty()).collect();
            let last = if open { words.pop() } else { None };
            let mut node = 0;
            for w in words {
                let id = m.token_id_or_new(w);
                node = child(&mut trie, node, id);
            }
            if let Some(p) = last.filter(|p| p.len() > 16) {
                m.long_prefixes.insert(i as u32, p.into());
            }
            match last {
                Some(p) if node == 0 => {
                    let first = p.as_bytes().first().copied().map_or(0, usize::from);
                    let prefix = Prefix::new(p, i as u32, value);
                    if p.len() < 3 {
                        m.root_short[first] = true;
                    } else {
                        let bit = head_bit(prefix.key);
                        m.root_heads[bit / 64] |= 1 << (bit % 64);
                    }
                    m.root_prefixes[first].push(prefix);
                }
                Some(p) => trie[node as usize].prefixes.push(Prefix::new(p, i as u32, value)),
                None => trie[node as usize].ends.push(value),
            }
        }
        m.flatten(trie);
        m
    }

    /// Number the nodes breadth first and lay their lists out in flat arrays.
    fn flatten(&mut self, trie: Vec<Building<T>>) {
        let mut order = vec![0u32];
        let mut number = vec![NONE; trie.len()];
        number[0] = 0;
        let mut i = 0;
        while i < order.len() {
            for &(_, c) in &trie[order[i] as usize].next {
                number[c as usize] = order.len() as u32;
                order.push(c);
            }
            i += 1;
        }
        for &old in &order {
            let b = &trie[old as usize];
            let next: Vec<(u32, u32)> = b.next.iter().map(|&(id, c)| (id, number[c as usize])).collect();
            let node = Node {
                ids: b.next.iter().fold(0, |m, &(id, _)| m | 1 << (id % 64)),
                next: range(&mut self.edges, &next),
                ends: range(&mut self.ends, &b.ends),
                prefixes: range(&mut self.prefixes, &b.prefixes),
            };
            self.nodes.push(node);
        }
        let roots: HashMap<u32, u32> = trie[0].next.iter().map(|&(id, c)| (id, number[c as usize])).collect();
        for known in self.short.values_mut().chain(self.long.values_mut()) {
            known.node = roots.get(&known.id).copied().unwrap_or(NONE);
        }
    }

    /// What the patterns know of a word (`key` is its key).
    fn known(&self, word: &str, key: u128) -> Vocable {
        let known = if word.len() <= 16 { self.short.get(&key) } else { self.long.get(word) };
        known.copied().unwrap_or(UNKNOWN)
    }

    fn token_id_or_new(&mut self, word: &str) -> u32 {
        let known = self.known(word, key(word));
        if known.id != NONE {
            return known.id;
        }
        let id = (self.short.len() + self.long.len()) as u32;
        let known = Vocable { id, node: NONE };
        if word.len() <= 16 {
            self.short.insert(key(word), known);
        } else {
            self.long.insert(word.into(), known);
        }
        id
    }

    /// Whether token `t` of `text` starts with the prefix.
    #[inline]
    fn starts(&self, prefix: &Prefix<T>, text: &Normalized, t: &Token) -> bool {
        if prefix.len <= 16 {
            t.key & mask(prefix.len as usize) == prefix.key
        } else {
            self.starts_long(prefix, text, t)
        }
    }

    #[cold]
    fn starts_long(&self, prefix: &Prefix<T>, text: &Normalized, t: &Token) -> bool {
        let word = if t.word == NONE { "|" } else { text.word(t.word as usize) };
        self.long_prefixes.get(&prefix.pattern).is_some_and(|p| word.starts_with(&**p))
    }

    /// Every pattern occurrence starting at a word of `text`, as `emit(word, value)`, in the order of
    /// the words. `tokens` is scratch space.
    pub fn find(&self, text: &Normalized, tokens: &mut Vec<Token>, mut emit: impl FnMut(usize, T)) {
        self.tokenize(text, tokens);
        for (i, t) in tokens.iter().enumerate() {
            if t.word == NONE {
                continue;
            }
            let start = t.word as usize;
            let first = (t.key & 0xff) as usize;
            let bit = head_bit(t.key);
            if self.root_short[first] || self.root_heads[bit / 64] & 1 << (bit % 64) != 0 {
                for prefix in &self.root_prefixes[first] {
                    if self.starts(prefix, text, t) {
                        emit(start, prefix.value);
                    }
                }
            }
            let mut node = t.known.node;
            for next in &tokens[i + 1..] {
                if node == NONE {
                    break;
                }
                let n = self.nodes[node as usize];
                for &value in &self.ends[n.ends.0 as usize..n.ends.1 as usize] {
                    emit(start, value);
                }
                for prefix in &self.prefixes[n.prefixes.0 as usize..n.prefixes.1 as usize] {
                    if self.starts(prefix, text, next) {
                        emit(start, prefix.value);
                    }
                }
                let id = next.known.id;
                node = if id == NONE || n.ids & 1 << (id % 64) == 0 {
                    NONE
                } else {
                    let edges = &self.edges[n.next.0 as usize..n.next.1 as usize];
                    if edges.len() <= 8 {
                        edges.iter().find(|e| e.0 == id).map_or(NONE, |e| e.1)
                    } else {
                        edges.binary_search_by_key(&id, |e| e.0).map_or(NONE, |k| edges[k].1)
                    }
                };
            }
            // A run of whole words up to the last token.
            if node != NONE {
                let n = self.nodes[node as usize];
                for &value in &self.ends[n.ends.0 as usize..n.ends.1 as usize] {
                    emit(start, value);
                }
            }
        }
    }

    /// The tokens of the text: its words, and a `|` mark wherever the text has one between words.
    fn tokenize(&self, text: &Normalized, tokens: &mut Vec<Token>) {
        tokens.clear();
        let bar_key = key("|");
        let bar = self.known("|", bar_key);
        let bytes = text.text.as_bytes();
        let mut end = 0;
        for (i, w) in text.words.iter().enumerate() {
            let (at, word_end) = (w.at as usize, w.end as usize);
            // Words follow each other as `word word` or `word | word`.
            if at > end + 1 {
                tokens.push(Token { key: bar_key, known: bar, word: NONE });
            }
            let key = key_at(bytes, at, word_end);
            let known = if word_end - at <= 16 {
                self.short.get(&key).copied().unwrap_or(UNKNOWN)
            } else {
                self.known(&text.text[at..word_end], key)
            };
            tokens.push(Token { key, known, word: i as u32 });
            end = word_end;
        }
    }
}

/// Append `items` to `v`; where they are.
fn range<T: Clone>(v: &mut Vec<T>, items: &[T]) -> (u32, u32) {
    let start = v.len() as u32;
    v.extend_from_slice(items);
    (start, v.len() as u32)
}

/// The child of `node` by token `id`, added if new.
fn child<T>(trie: &mut Vec<Building<T>>, node: u32, id: u32) -> u32 {
    let next = &trie[node as usize].next;
    let at = next.partition_point(|e| e.0 < id);
    if let Some(&(found, n)) = next.get(at)
        && found == id
    {
        return n;
    }
    let n = trie.len() as u32;
    trie[node as usize].next.insert(at, (id, n));
    trie.push(Building::default());
    n
}

/// A fast hash for [`key`]s: one folded multiply.
#[derive(Debug, Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Not used by the matcher's maps (their keys are `u128`s); FNV-1a from the current state.
    fn write(&mut self, bytes: &[u8]) {
        let mut fnv = FnvHasher(self.0);
        fnv.write(bytes);
        self.0 = fnv.finish();
    }

    fn write_u128(&mut self, k: u128) {
        let (lo, hi) = (k as u64 ^ 0x243f_6a88_85a3_08d3, (k >> 64) as u64 ^ 0x1319_8a2e_0370_7344);
        let product = u128::from(lo) * u128::from(hi);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a byte-level search finds: every pattern at every position, where a word starts.
    fn reference(patterns: &[String], text: &Normalized) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (p, pattern) in patterns.iter().enumerate() {
            for at in 0..text.text.len() {
                if text.text[at..].starts_with(pattern.as_str())
                    && let Some(w) = text.words.iter().position(|w| w.at as usize == at + 1)
                {
                    out.push((w, p));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_what_a_byte_search_finds() {
        // Whole words, prefixes (`*`), runs across a sentence mark, facts, words and prefixes
        // longer than a key, one word that is a prefix of another, repeats.
        let phrases = [
            "reset password",
            "password",
            "pass*",
            "reset pass*",
            "p*",
            "access",
            "grant access to",
            "to",
            "to to",
            "down. since",
            "internationalization*",
            "internationalisation support",
            "supercalifragilisticexpialidocious",
            "v*",
            "upgrade to v*",
            "a",
        ];
        let mut patterns: Vec<String> = phrases
            .iter()
            .map(|p| match p.strip_suffix('*') {
                Some(body) => Normalized::phrase(body).text.trim_end().to_string(),
                None => Normalized::phrase(p).text,
            })
            .collect();
        patterns.push(" fact:version ".into());
        let matcher = Matcher::new(patterns.iter().enumerate().map(|(i, p)| (p.as_str(), i)));
        let texts = [
            "Reset password please; the password reset passed. Passwords!",
            "Grant access to to to the share. Access to VPN is down. Since 2am.",
            "Internationalization support and internationalisation support for supercalifragilisticexpialidocious",
            "upgrade to v6.20.1 now, upgrade to version 7; a a a",
            "",
            "p",
            "Pass-through p.",
        ];
        let mut tokens = Vec::new();
        for summary in texts {
            for description in texts {
                let mut text = Normalized::ticket(summary, description);
                text.finish();
                let mut found = Vec::new();
                matcher.find(&text, &mut tokens, |w, p| found.push((w, p)));
                found.sort_unstable();
                assert_eq!(found, reference(&patterns, &text), "{:?}", text.text);
            }
        }
    }
}
