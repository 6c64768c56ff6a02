//! Light text normalisation shared by phrases and ticket text, so both meet in the same form.
//!
//! A word is a run of letters and digits. Each word is lower-cased, apostrophes inside it are dropped
//! ("can't" -> "cant"), digit groups are joined ("1,200" -> "1200"), common ticket typos and shorthands
//! are corrected ("pasword", "pls", "acct": the list is `[corrections]` in `config/vocabulary.toml`),
//! and a light stemmer folds plurals and verb endings ("users" -> "user", "blocked" -> "block",
//! "creating" -> "creat"). Everything else is a word break.
//!
//! The normalised text is the words joined by single spaces, with a space at each end, so a phrase
//! `" reset password "` can only match whole words. Each word remembers where it came from (summary,
//! description or a log excerpt inside the description) and its byte range in the original text,
//! so evidence can be quoted as written.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

/// Where a word was found. Summary evidence counts more than description evidence, and log excerpts
/// (stack traces, timestamps, code blocks) count little: they must not decide alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Summary,
    Description,
    Log,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Summary => "summary",
            Field::Description => "description",
            Field::Log => "log excerpt",
        }
    }
}

/// One word of the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word {
    /// Byte offset of the word in [`Normalized::text`].
    pub at: u32,
    pub field: Field,
    /// The sentence the word is in: `..` gaps do not cross sentences.
    pub sentence: u32,
    /// Byte range of the word in the original summary or description.
    pub source: (u32, u32),
    /// Byte offset just past the word in [`Normalized::text`].
    pub end: u32,
}

/// Ticket text (or a phrase) in normalised form.
///
/// The buffers are reusable: [`Normalized::reset_ticket`] normalises the next ticket into the same
/// allocations, so a classifier that keeps one per thread allocates nothing here once warm.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// `" word word ... "`: words separated by single spaces, a space at both ends. A field change is
    /// marked by `" | "` so no phrase can run from the summary into the description. Facts found in
    /// the text follow at the end as marker words (`fact:version`).
    pub text: String,
    pub words: Vec<Word>,
    /// Facts found while normalising, appended by [`Normalized::finish`].
    facts: Vec<(&'static str, Field, (u32, u32))>,
    /// The current sentence number (sentences end at `.`, `!`, `?`, `;` before a space, and at line ends).
    sentence: u32,
    /// The word being read (lower-cased, before corrections and stemming).
    word: String,
}

impl Normalized {
    /// Normalise a ticket into new buffers (see [`Normalized::reset_ticket`]).
    #[cfg(test)]
    pub fn ticket(summary: &str, description: &str) -> Normalized {
        let mut n = Normalized::default();
        n.reset_ticket(summary, description);
        n
    }

    /// Normalise a ticket, its summary and description (log lines in the description are marked),
    /// into this value's buffers (whatever they held before is dropped).
    pub fn reset_ticket(&mut self, summary: &str, description: &str) {
        self.text.clear();
        self.words.clear();
        self.facts.clear();
        self.sentence = 0;
        self.text.reserve(summary.len() + description.len() + 8);
        self.words.reserve((summary.len() + description.len()) / 5);
        self.text.push(' ');
        self.push_field(summary, 0, Field::Summary);
        if !description.is_empty() {
            let mut offset = 0usize;
            let mut in_block = false;
            for line in description.split_inclusive('\n') {
                let fence = is_fence(line);
                let field = if in_block || fence || is_log_line(line) { Field::Log } else { Field::Description };
                if fence {
                    in_block = !in_block;
                }
                self.push_field(line, offset, field);
                offset += line.len();
            }
        }
    }

    /// Normalise a phrase the way ticket text is normalised (all of it counts as one field).
    pub fn phrase(phrase: &str) -> Normalized {
        let mut n = Normalized { text: String::from(" "), ..Normalized::default() };
        n.push_field(phrase, 0, Field::Summary);
        // A phrase is one run of words: drop the end-of-field marker.
        if n.text.ends_with("| ") {
            n.text.truncate(n.text.len() - 2);
        }
        n
    }

    /// Record a fact found in the text (`fact:many` from the affected-people counter).
    pub fn add_fact(&mut self, fact: &'static str, field: Field, source: (u32, u32)) {
        self.facts.push((fact, field, source));
    }

    /// Append the facts found as marker words after the text. Call once, before matching.
    pub fn finish(&mut self) {
        for &(fact, field, source) in &self.facts {
            let at = self.text.len() as u32;
            self.text.push_str(fact);
            let end = self.text.len() as u32;
            self.text.push(' ');
            self.sentence += 1;
            self.words.push(Word { at, field, sentence: self.sentence, source, end });
        }
        self.facts.clear();
    }

    /// The normalised form of word `i`.
    pub fn word(&self, i: usize) -> &str {
        let w = &self.words[i];
        &self.text[w.at as usize..w.end as usize]
    }

    fn push_field(&mut self, text: &str, base: usize, field: Field) {
        // Facts are read from prose; in a log excerpt nearly every token would be one.
        if field != Field::Log {
            self.push_token_facts(text, base, field);
        }
        let mut word = std::mem::take(&mut self.word);
        word.clear();
        let mut start = None;
        let bytes = text.as_bytes();
        let char_at = |i: usize| text[i..].chars().next();
        let mut i = 0;
        while i < bytes.len() {
            // A run of ASCII letters and digits.
            if bytes[i].is_ascii_alphanumeric() {
                let run = i;
                while bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
                    i += 1;
                }
                // Most words are such a run, all of the word: not joined to what comes before or
                // after (`can't`, `1,200`, non-ASCII letters), not starting with a digit (`2am`, `504s`).
                let alone = start.is_none()
                    && !bytes[run].is_ascii_digit()
                    && bytes.get(i).is_none_or(|&b| b < 0x80 && !matches!(b, b'\'' | b','));
                if alone {
                    self.push_plain(&text[run..i], field, (base + run, base + i));
                } else {
                    start.get_or_insert(run);
                    word.extend(bytes[run..i].iter().map(|b| char::from(b.to_ascii_lowercase())));
                }
                continue;
            }
            // Other ASCII that neither joins a word nor ends a sentence: just a word break.
            if !matches!(bytes[i], b'\'' | b',' | b'.' | b'!' | b'?' | b';' | b'\n' | 0x80..) {
                if let Some(s) = start.take() {
                    self.push_word(&word, field, (base + s, base + i));
                    word.clear();
                }
                i += 1;
                continue;
            }
            // The rest: ASCII decoded as a byte, anything else as a char.
            let (c, len) = match bytes[i] {
                b if b < 0x80 => (char::from(b), 1),
                _ => char_at(i).map_or(('\u{fffd}', 1), |c| (c, c.len_utf8())),
            };
            let at = i;
            i += len;
            if c.is_alphanumeric() {
                start.get_or_insert(at);
                word.extend(c.to_lowercase());
                continue;
            }
            let next = match bytes.get(i) {
                Some(&b) if b < 0x80 => Some(char::from(b)),
                Some(_) => char_at(i),
                None => None,
            };
            let joins = match c {
                '\'' | '\u{2019}' => !word.is_empty() && next.is_some_and(char::is_alphabetic),
                ',' => {
                    word.bytes().last().is_some_and(|b| b.is_ascii_digit()) && next.is_some_and(|n| n.is_ascii_digit())
                }
                _ => false,
            };
            if joins {
                continue;
            }
            if let Some(s) = start.take() {
                self.push_word(&word, field, (base + s, base + at));
                word.clear();
            }
            let ends_sentence = matches!(c, '.' | '!' | '?' | ';') && next.is_none_or(char::is_whitespace);
            if (ends_sentence || c == '\n') && !self.text.ends_with("| ") {
                self.text.push_str("| ");
                self.sentence += 1;
            }
        }
        if let Some(s) = start {
            self.push_word(&word, field, (base + s, base + text.len()));
        }
        self.word = word;
        if !self.text.ends_with("| ") {
            self.text.push_str("| ");
        }
        self.sentence += 1;
    }

    /// Record the facts among the whitespace-separated tokens of `text` (see
    /// [`token_fact`](super::facts::token_fact)).
    ///
    /// A token of lower-case letters only is never a fact, so only the tokens around other bytes
    /// are read, and runs of eight lower-case letters and spaces are skipped whole.
    fn push_token_facts(&mut self, text: &str, base: usize, field: Field) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if let Some(chunk) = b.get(i..i + 8) {
                let mut eight = [0; 8];
                eight.copy_from_slice(chunk);
                if plain(u64::from_le_bytes(eight)) {
                    i += 8;
                    continue;
                }
            }
            if b[i].is_ascii_lowercase() || b[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            // A token with another byte: from the white space before it to the white space after.
            let start = b[..i].iter().rposition(u8::is_ascii_whitespace).map_or(0, |p| p + 1);
            let end = b[i..].iter().position(u8::is_ascii_whitespace).map_or(b.len(), |p| i + p);
            self.push_token_fact(&text[start..end], base + start, field);
            i = end;
        }
    }

    /// Record the fact `token` (at `at` of its field) is, if it is one.
    fn push_token_fact(&mut self, token: &str, at: usize, field: Field) {
        let b = token.as_bytes();
        let (mut strong, mut inner, mut last_inner) = (false, 0u32, false);
        for (i, &c) in b.iter().enumerate() {
            let class = TOKEN_CLASS[usize::from(c)];
            strong |= class & STRONG != 0 || (class & UPPER != 0 && i > 0);
            last_inner = class & INNER != 0;
            inner += u32::from(last_inner);
        }
        // `token_fact` rules out a token without a digit, `@ ( # \`, an inner `. - _ :` or an inner
        // capital, unless it has two bytes; of those, only a drive letter (`S:`) can be a fact.
        let telling = strong || inner > u32::from(last_inner);
        if (telling || (b.len() == 2 && b[1] == b':'))
            && let Some(fact) = super::facts::token_fact(token)
        {
            let at = at as u32;
            self.facts.push((fact, field, (at, at + token.len() as u32)));
        }
    }

    /// Push a word of ASCII letters and digits that starts with a letter (so [`Normalized::push_word`]
    /// would push it as one word), lower-casing, correcting and stemming it in place.
    fn push_plain(&mut self, word: &str, field: Field, source: (usize, usize)) {
        let at = self.text.len();
        self.text.push_str(word);
        self.text[at..].make_ascii_lowercase();
        let raw = &self.text[at..];
        match correct(raw) {
            Some(fix) => {
                let (stem, i) = stem_parts(fix);
                self.text.truncate(at);
                self.text.push_str(stem);
                if i {
                    self.text.push('i');
                }
            }
            None => {
                let (stem, i) = stem_parts(raw);
                let end = at + stem.len();
                self.text.truncate(end);
                if i {
                    self.text.push('i');
                }
            }
        }
        let end = self.text.len() as u32;
        self.text.push(' ');
        let (at, source) = (at as u32, (source.0 as u32, source.1 as u32));
        self.words.push(Word { at, field, sentence: self.sentence, source, end });
    }

    fn push_word(&mut self, raw: &str, field: Field, source: (usize, usize)) {
        // "2am", "10pm": the number and the time of day, so "since .. am" can match.
        if let Some(digits) = raw.strip_suffix("am").or_else(|| raw.strip_suffix("pm"))
            && !digits.is_empty()
            && digits.len() <= 2
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            self.push_one(digits, field, source);
            self.push_one(&raw[digits.len()..], field, source);
            return;
        }
        // "504s", "500s": the number.
        if let Some(digits) = raw.strip_suffix('s')
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            self.push_one(digits, field, source);
            return;
        }
        self.push_one(raw, field, source);
    }

    fn push_one(&mut self, raw: &str, field: Field, source: (usize, usize)) {
        let at = self.text.len() as u32;
        let (stem, i) = stem_parts(correct(raw).unwrap_or(raw));
        self.text.push_str(stem);
        if i {
            self.text.push('i');
        }
        let end = self.text.len() as u32;
        self.text.push(' ');
        self.words.push(Word { at, field, sentence: self.sentence, source: (source.0 as u32, source.1 as u32), end });
    }
}

/// Whether eight bytes are all lower-case ASCII letters or spaces (a word at a time, no branches).
fn plain(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = ONES * 0x80;
    if x & HIGH != 0 {
        return false;
    }
    // Bytes below 0x80: adding never carries into the next byte. The high bit of a byte says
    // `>= 'a'`, `>= '{'` (past 'z'), and for `y`, whether the byte is not a space.
    let lower = x.wrapping_add(ONES * (0x80 - u64::from(b'a'))) & !x.wrapping_add(ONES * (0x80 - u64::from(b'{')));
    let y = x ^ (ONES * u64::from(b' '));
    let space = !((y & !HIGH).wrapping_add(!HIGH) | y);
    (lower | space) & HIGH == HIGH
}

/// Byte classes of [`Normalized::push_token_fact`]: what makes a token worth reading for facts.
const STRONG: u8 = 1;
const INNER: u8 = 2;
const UPPER: u8 = 4;

const TOKEN_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b'0'..=b'9' | b'@' | b'(' | b'#' | b'\\' => STRONG,
            b'.' | b'-' | b'_' | b':' => INNER,
            b'A'..=b'Z' => UPPER,
            _ => 0,
        };
        c += 1;
    }
    table
};

/// A line that opens or closes a code block (Markdown fence, Jira `{code}` / `{noformat}`).
fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") || t.starts_with("{code") || t.starts_with("{noformat")
}

/// Whether a description line looks like a log excerpt or a stack trace rather than prose: a
/// timestamp, a log level, a stack frame, or mostly symbols and digits.
pub fn is_log_line(line: &str) -> bool {
    let t = line.trim();
    if t.len() < 8 {
        return false;
    }
    if t.starts_with("at ") && t.contains('(') && t.contains('.') {
        return true;
    }
    if t.starts_with("Traceback") || t.starts_with("Caused by:") || t.starts_with("File \"") || t.starts_with("...") {
        return true;
    }
    // One pass over the bytes: symbols and digits against the rest, and the separators that may
    // make a timestamp or a dotted code identifier.
    let b = t.as_bytes();
    let [total, symbols, colons, dashes, dots, upper] = log_counts(b);
    if (colons >= 2 || dashes >= 2) && has_time(b) {
        return true;
    }
    if upper >= 4 {
        let head = &t[..t.floor_char_boundary(48)];
        for level in ["ERROR", "WARN", "INFO", "DEBUG", "FATAL", "TRACE", "SEVERE"] {
            if let Some(p) = head.find(level) {
                let before = p.checked_sub(1).map(|i| b[i]);
                let after = b.get(p + level.len()).copied();
                let edge = |c: Option<u8>| c.is_none_or(|c| matches!(c, b' ' | b'[' | b']' | b':' | b'|' | b'\t'));
                if edge(before) && edge(after) {
                    return true;
                }
            }
        }
    }
    // Dotted code identifiers (`java.lang.NullPointerException`, `com.acme.OrderService.total`).
    let dotted = |w: &str| {
        let w = w.trim_end_matches([':', '(', ')']);
        w.matches('.').count() >= 2
            && w.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$')))
            && w.bytes().any(|c| c.is_ascii_alphabetic())
    };
    if dots >= 2 && most_dots(b) >= 2 && t.split_whitespace().any(dotted) {
        return true;
    }
    total >= 16 && symbols * 100 >= total * 35
}

/// What [`is_log_line`] counts in a line: bytes other than spaces and tabs, digits and the
/// punctuation of code and logs, colons, dashes, dots and capitals.
fn log_counts(b: &[u8]) -> [usize; 6] {
    let mut counts = [0; 6];
    // Each byte adds its counts to 21-bit lanes of one number; no lane overflows within a chunk.
    for chunk in b.chunks((1 << LANE) - 1) {
        let sum: u128 = chunk.iter().map(|&c| LOG_COUNTS[usize::from(c)]).sum();
        for (k, count) in counts.iter_mut().enumerate() {
            *count += ((sum >> (LANE * k as u32)) & ((1 << LANE) - 1)) as usize;
        }
    }
    counts
}

/// The lanes of [`LOG_COUNTS`], in the order [`log_counts`] returns them.
const LANE: u32 = 21;
const COUNTED: u32 = 0;
const SYMBOL: u32 = 1;
const COLON: u32 = 2;
const DASH: u32 = 3;
const DOT: u32 = 4;
const CAPITAL: u32 = 5;

/// One in `lane` of [`LOG_COUNTS`].
const fn one(lane: u32) -> u128 {
    1 << (LANE * lane)
}

const LOG_COUNTS: [u128; 256] = {
    let mut table = [0; 256];
    let mut c = 0;
    while c < 256 {
        if c != b' ' as usize && c != b'\t' as usize {
            table[c] |= one(COUNTED);
        }
        c += 1;
    }
    let symbols = b"0123456789{}[]()<>=;:/\\_$#@|\"'`~^*%&+-";
    let mut i = 0;
    while i < symbols.len() {
        table[symbols[i] as usize] |= one(SYMBOL);
        i += 1;
    }
    table[b':' as usize] |= one(COLON);
    table[b'-' as usize] |= one(DASH);
    table[b'.' as usize] |= one(DOT);
    let mut c = b'A';
    while c <= b'Z' {
        table[c as usize] |= one(CAPITAL);
        c += 1;
    }
    table
};

/// The most dots in one token between ASCII white space (a token between any white space has no more).
fn most_dots(b: &[u8]) -> usize {
    let (mut dots, mut most) = (0, 0);
    for &c in b {
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => dots = 0,
            b'.' => {
                dots += 1;
                most = most.max(dots);
            }
            _ => {}
        }
    }
    most
}

/// `hh:mm:ss` or `yyyy-mm-dd` somewhere in the line.
fn has_time(b: &[u8]) -> bool {
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    (0..b.len()).any(|i| {
        (d(i)
            && d(i + 1)
            && b.get(i + 2) == Some(&b':')
            && d(i + 3)
            && d(i + 4)
            && b.get(i + 5) == Some(&b':')
            && d(i + 6))
            || (d(i)
                && d(i + 1)
                && d(i + 2)
                && d(i + 3)
                && b.get(i + 4) == Some(&b'-')
                && d(i + 5)
                && d(i + 6)
                && b.get(i + 7) == Some(&b'-'))
    })
}

/// The typo corrections of the vocabulary (`[corrections]` in `config/vocabulary.toml`): common
/// misspellings and shorthands in tickets, corrected before stemming.
struct Corrections {
    /// The typos again: most words are ruled out without hashing them.
    filter: WordFilter,
    /// Typo -> the word meant.
    words: HashMap<&'static str, &'static str, Fnv>,
}

static CORRECTIONS: LazyLock<Corrections> = LazyLock::new(|| {
    let mut c = Corrections { filter: WordFilter::EMPTY, words: HashMap::default() };
    for (word, typos) in &super::rules::vocabulary().corrections {
        for typo in typos {
            c.filter.insert(typo);
            c.words.insert(typo, word);
        }
    }
    c
});

fn correct(word: &str) -> Option<&'static str> {
    let c = &*CORRECTIONS;
    // A cheap pre-check saves the lookup for most words.
    c.filter.may_contain(word).then(|| c.words.get(word).copied()).flatten()
}

/// A set of words as a 1024-bit Bloom filter (two bits a word, from its length and three of its
/// bytes): most words that are not in the set are ruled out without hashing them.
#[derive(Debug, Clone, Copy)]
pub struct WordFilter([u64; 16]);

impl WordFilter {
    pub const EMPTY: WordFilter = WordFilter([0; 16]);

    const fn bits(word: &str) -> (usize, usize) {
        let b = word.as_bytes();
        let n = b.len();
        let (first, second, last) = match n {
            0 => (0, 0, 0),
            1 => (b[0] as u64, 0, b[0] as u64),
            _ => (b[0] as u64, b[1] as u64, b[n - 1] as u64),
        };
        let mut h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ first.wrapping_mul(0x85eb_ca6b_c2b2_ae35)
            ^ second.wrapping_mul(0x27d4_eb2f_1656_67c5)
            ^ last.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 29;
        ((h % 1024) as usize, ((h >> 10) % 1024) as usize)
    }

    pub const fn insert(&mut self, word: &str) {
        let (a, b) = WordFilter::bits(word);
        self.0[a / 64] |= 1 << (a % 64);
        self.0[b / 64] |= 1 << (b % 64);
    }

    /// False when `word` is certainly not in the set.
    pub const fn may_contain(&self, word: &str) -> bool {
        let (a, b) = WordFilter::bits(word);
        self.0[a / 64] & (1 << (a % 64)) != 0 && self.0[b / 64] & (1 << (b % 64)) != 0
    }
}

/// FNV-1a: a fast hash for the short words looked up per word of every ticket.
pub type Fnv = BuildHasherDefault<FnvHasher>;

#[derive(Debug)]
pub struct FnvHasher(pub(super) u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A deliberately small stemmer: folds plurals, `-ing`, `-ed`, a final `-e` and `-y`, so "users",
/// "blocked", "creating", "creates" and "copies" meet "user", "block", "create" and "copy" (as "creat",
/// "copi"). Applied to phrases and text alike, so its stems only need to be consistent, not
/// linguistically right. Non-ASCII words, words with digits and very short words are left alone.
pub fn stem(word: &str) -> Cow<'_, str> {
    match stem_parts(word) {
        (s, false) => Cow::Borrowed(s),
        (s, true) => Cow::Owned(format!("{s}i")),
    }
}

/// The stem as a prefix of `word`, and whether an `i` follows it (for "-y" and "-ies"). No allocation.
fn stem_parts(word: &str) -> (&str, bool) {
    let b = word.as_bytes();
    if b.len() < 3 || b.iter().any(|&c| !c.is_ascii() || c.is_ascii_digit()) {
        return (word, false);
    }
    let mut n = b.len();
    if n >= 5 && b[n - 3..] == *b"ies" {
        return (&word[..n - 3], true);
    }
    // A plural, not "-ss", "-us" or "-is".
    if b[n - 1] == b's' && !matches!(b[n - 2], b's' | b'u' | b'i') {
        n -= 1;
    }
    if n > 3 {
        let cut = if b[n - 3..n] == *b"ing" {
            n - 3
        } else if b[n - 2..n] == *b"ed" {
            n - 2
        } else {
            n
        };
        if cut < n && cut >= 3 && b[..cut].iter().any(is_vowel) {
            let doubled = cut >= 4
                && b[cut - 1] == b[cut - 2]
                && !matches!(b[cut - 1], b'l' | b's' | b'z')
                && !is_vowel(&b[cut - 1]);
            n = if doubled { cut - 1 } else { cut };
        }
    }
    if n > 3 && b[n - 1] == b'e' && b[n - 2] != b'e' {
        n -= 1;
    }
    if n > 3 && b[n - 1] == b'y' {
        return (&word[..n - 1], true);
    }
    (&word[..n], false)
}

fn is_vowel(b: &u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Normalized::phrase(s).text.trim().to_string()
    }

    #[test]
    fn words_are_lowercased_stemmed_and_corrected() {
        assert_eq!(norm("Can't LOGIN, pls reset my pasword!!"), norm("cant login please reset my password"));
        assert_eq!(norm("Can't LOGIN"), "cant login");
        assert_eq!(norm("Users blocked, creating accounts"), norm("user block create account"));
        assert_eq!(norm("1,200 users, 504s"), "1200 user 504");
        assert_eq!(norm("running stopped called access status"), "run stop call access status");
        assert_eq!(norm("copies copy policy policies vms"), "copi copi polici polici vm");
        assert_eq!(norm("e-mail wi-fi"), "e mail wi fi");
    }

    /// The stemmer as first written, on `str` methods: the byte-level one must agree.
    fn stem_reference(word: &str) -> (&str, bool) {
        if !word.is_ascii() || word.len() < 3 || word.bytes().any(|b| b.is_ascii_digit()) {
            return (word, false);
        }
        if let Some(s) = word.strip_suffix("ies").filter(|s| s.len() >= 2) {
            return (s, true);
        }
        let mut w = word;
        if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
            w = &w[..w.len() - 1];
        }
        if w.len() > 3 {
            for suffix in ["ing", "ed"] {
                if let Some(s) = w.strip_suffix(suffix).filter(|s| s.len() >= 3 && s.bytes().any(|b| is_vowel(&b))) {
                    let b = s.as_bytes();
                    let n = b.len();
                    let doubled = n >= 4
                        && b[n - 1] == b[n - 2]
                        && !matches!(b[n - 1], b'l' | b's' | b'z')
                        && !is_vowel(&b[n - 1]);
                    w = if doubled { &s[..n - 1] } else { s };
                    break;
                }
            }
        }
        if w.len() > 3 && w.ends_with('e') && !w.ends_with("ee") {
            w = &w[..w.len() - 1];
        }
        if w.len() > 3 && w.ends_with('y') {
            return (&w[..w.len() - 1], true);
        }
        (w, false)
    }

    #[test]
    fn stemmer_agrees_with_its_reference() {
        let mut words: Vec<String> = ["ies", "pies", "copies", "users", "boss", "status", "analysis", "stopped"]
            .iter()
            .chain(&["running", "sing", "bring", "seed", "feed", "created", "fee", "free", "day", "copy", "spying"])
            .chain(&["agreeing", "filled", "buzzed", "naïve", "v2s", "ab", "abcs", "xxing", "rhythmed", "tries"])
            .map(|w| w.to_string())
            .collect();
        // Every short word over a small alphabet with the endings that matter.
        let letters = ["a", "e", "i", "s", "y", "n", "g", "d", "l", "t"];
        for a in letters {
            for b in letters {
                for c in letters {
                    for ending in ["", "s", "es", "ies", "ing", "ed", "ying", "ied"] {
                        words.push(format!("{a}{b}{c}{ending}"));
                        words.push(format!("{a}{b}{b}{c}{c}{ending}"));
                    }
                }
            }
        }
        for w in &words {
            assert_eq!(stem_parts(w), stem_reference(w), "{w}");
        }
    }

    #[test]
    fn plain_bytes_are_found_eight_at_a_time() {
        let mut samples: Vec<[u8; 8]> = vec![*b"abcdefgh", *b"abc defg", *b"        ", *b"abcdEfgh", *b"z{ a`xyz"];
        samples.extend((0..=255u8).map(|b| [b'a', b'b', b, b'c', b' ', b'z', b'a', b'q']));
        samples.extend((0..=255u8).map(|b| [b; 8]));
        for s in samples {
            let naive = s.iter().all(|&c| c.is_ascii_lowercase() || c == b' ');
            assert_eq!(plain(u64::from_le_bytes(s)), naive, "{s:?}");
        }
    }

    #[test]
    fn log_counts_count_each_class() {
        let naive = |b: &[u8]| {
            let count = |f: &dyn Fn(u8) -> bool| b.iter().filter(|&&c| f(c)).count();
            [
                count(&|c| c != b' ' && c != b'\t'),
                count(&|c| c.is_ascii_digit() || b"{}[]()<>=;:/\\_$#@|\"'`~^*%&+-".contains(&c)),
                count(&|c| c == b':'),
                count(&|c| c == b'-'),
                count(&|c| c == b'.'),
                count(&|c| c.is_ascii_uppercase()),
            ]
        };
        let all: Vec<u8> = (0..=255u8).collect();
        for line in [&b"2024-03-01 12:00:01 ERROR x.y.z"[..], b"  \t plain words. More: A-B", &all] {
            assert_eq!(log_counts(line), naive(line));
        }
        // Longer than a lane holds: the counts carry on across chunks.
        let long = b"ab:.-Z ".repeat(400_000);
        assert_eq!(log_counts(&long), naive(&long));
        assert_eq!(most_dots(b"a.b c..d\te.f.g.h i"), 3);
        assert_eq!(most_dots(b"a.b\x0bc.d"), 1);
    }

    #[test]
    fn word_filters_keep_every_word() {
        for (word, typos) in &super::super::rules::vocabulary().corrections {
            for typo in typos {
                assert_eq!(correct(typo), Some(word.as_str()));
            }
        }
        let mut filter = WordFilter::EMPTY;
        let words = ["a", "an", "", "several", "x"];
        words.iter().for_each(|w| filter.insert(w));
        assert!(words.iter().all(|w| filter.may_contain(w)));
        let others = ["the", "users", "network", "b", "zz", "printer"];
        assert!(others.iter().filter(|w| filter.may_contain(w)).count() < others.len());
    }

    #[test]
    fn corrections_fix_typos_only() {
        assert_eq!(correct("pasword"), Some("password"));
        assert_eq!(correct("pwd"), Some("password"));
        assert_eq!(correct("password"), None);
        assert_eq!(correct("passwords"), None);
    }

    #[test]
    fn log_lines_are_recognised() {
        for log in [
            "    at com.acme.shop.OrderService.total(OrderService.java:42)",
            "2024-03-01 12:00:01 ERROR connection refused",
            "[ERROR] Failed to execute goal",
            "java.lang.NullPointerException: null",
            "Traceback (most recent call last):",
            "{\"status\":500,\"error\":\"Internal\"}",
        ] {
            assert!(is_log_line(log), "{log}");
        }
        for prose in [
            "The checkout page is down for everyone.",
            "Please grant me access to the finance share",
            "It errors at 10am.",
            "Since 6.20.0 the monitor renders badly, e.g. for APAC.",
        ] {
            assert!(!is_log_line(prose), "{prose}");
        }
    }

    #[test]
    fn ticket_marks_fields_and_keeps_sources() {
        let summary = "VPN down";
        let n = Normalized::ticket(summary, "Since 2am.\n```\nERROR x\n```\nthanks");
        assert_eq!(n.text, format!(" vpn down | {} 2 am | error x | thank | ", norm("since")));
        let words: Vec<u32> = n.words.iter().map(|w| w.sentence).collect();
        // Summary, the first description line, the log line and the last line are separate sentences.
        assert!(words[0] == words[1] && words[1] != words[2] && words[2] == words[4] && words[4] != words[5]);
        assert!(words[5] == words[6] && words[6] != words[7]);
        assert_eq!(n.words[0].field, Field::Summary);
        assert_eq!(&summary[n.words[1].source.0 as usize..n.words[1].source.1 as usize], "down");
        let fields: Vec<Field> = n.words.iter().map(|w| w.field).collect();
        assert_eq!(fields[5..7], [Field::Log, Field::Log]);
        assert_eq!(fields[7], Field::Description);
    }
}
