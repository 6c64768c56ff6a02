//! Light text normalisation shared by phrases and ticket text, so both meet in the same form.
//!
//! A word is a run of letters and digits. Each word is lower-cased, apostrophes inside it are dropped
//! ("can't" -> "cant"), digit groups are joined ("1,200" -> "1200"), common ticket typos and shorthands
//! are corrected ("pasword", "pls", "acct"), and a light stemmer folds plurals and verb endings
//! ("users" -> "user", "blocked" -> "block", "creating" -> "creat"). Everything else is a word break.
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
}

impl Normalized {
    /// Normalise a ticket: its summary and description (log lines in the description are marked).
    pub fn ticket(summary: &str, description: &str) -> Normalized {
        let mut n = Normalized {
            text: String::with_capacity(summary.len() + description.len() + 8),
            words: Vec::with_capacity((summary.len() + description.len()) / 5),
            facts: Vec::new(),
            sentence: 0,
        };
        n.text.push(' ');
        n.push_field(summary, 0, Field::Summary);
        if !description.is_empty() {
            let mut offset = 0usize;
            let mut in_block = false;
            for line in description.split_inclusive('\n') {
                let fence = is_fence(line);
                let field = if in_block || fence || is_log_line(line) { Field::Log } else { Field::Description };
                if fence {
                    in_block = !in_block;
                }
                n.push_field(line, offset, field);
                offset += line.len();
            }
        }
        n
    }

    /// Normalise a phrase the way ticket text is normalised (all of it counts as one field).
    pub fn phrase(phrase: &str) -> Normalized {
        let mut n = Normalized { text: String::from(" "), words: Vec::new(), facts: Vec::new(), sentence: 0 };
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
        if self.facts.is_empty() {
            return;
        }
        for (fact, field, source) in std::mem::take(&mut self.facts) {
            let at = self.text.len() as u32;
            self.text.push_str(fact);
            let end = self.text.len() as u32;
            self.text.push(' ');
            self.sentence += 1;
            self.words.push(Word { at, field, sentence: self.sentence, source, end });
        }
    }

    /// The normalised form of word `i`.
    pub fn word(&self, i: usize) -> &str {
        let w = &self.words[i];
        &self.text[w.at as usize..w.end as usize]
    }

    /// The index of the word starting at byte `at` of [`Normalized::text`] (the position just after a space).
    pub fn word_at(&self, at: usize) -> Option<usize> {
        self.words.binary_search_by_key(&(at as u32), |w| w.at).ok()
    }

    fn push_field(&mut self, text: &str, base: usize, field: Field) {
        // Facts are read from prose; in a log excerpt nearly every token would be one.
        if field != Field::Log {
            for (offset, token) in tokens(text) {
                if let Some(fact) = super::facts::token_fact(token) {
                    let start = (base + offset) as u32;
                    self.facts.push((fact, field, (start, start + token.len() as u32)));
                }
            }
        }
        let mut word = String::new();
        let mut start = None;
        let bytes = text.as_bytes();
        let char_at = |i: usize| text[i..].chars().next();
        let mut i = 0;
        while i < bytes.len() {
            // ASCII is decoded as bytes; anything else as a char.
            let (c, len) = match bytes[i] {
                b if b < 0x80 => (char::from(b), 1),
                _ => char_at(i).map_or(('\u{fffd}', 1), |c| (c, c.len_utf8())),
            };
            let at = i;
            i += len;
            if c.is_ascii_alphanumeric() {
                start.get_or_insert(at);
                word.push(c.to_ascii_lowercase());
                continue;
            }
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
        if !self.text.ends_with("| ") {
            self.text.push_str("| ");
        }
        self.sentence += 1;
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

/// Whitespace-separated tokens with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_ascii_whitespace().map(move |t| (t.as_ptr() as usize - text.as_ptr() as usize, t))
}

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
    let (mut symbols, mut total, mut colons, mut dashes, mut dots, mut upper) = (0usize, 0usize, 0, 0, 0, 0);
    for c in b {
        match c {
            b' ' | b'\t' => continue,
            b':' => colons += 1,
            b'-' => dashes += 1,
            b'.' => dots += 1,
            b'A'..=b'Z' => upper += 1,
            _ => {}
        }
        total += 1;
        symbols += usize::from(SYMBOLS[usize::from(*c)]);
    }
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
    if dots >= 2 && t.split_whitespace().any(dotted) {
        return true;
    }
    total >= 16 && symbols * 100 >= total * 35
}

/// Digits and the punctuation of code and logs.
const SYMBOLS: [bool; 256] = {
    let mut table = [false; 256];
    let chars = b"0123456789{}[]()<>=;:/\\_$#@|\"'`~^*%&+-";
    let mut i = 0;
    while i < chars.len() {
        table[chars[i] as usize] = true;
        i += 1;
    }
    table
};

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

/// Common misspellings and shorthands in tickets, corrected before stemming, sorted by the misspelling
/// (a test checks). Kept short and safe: each entry is a token that is almost never anything else.
const CORRECTIONS: &[(&str, &str)] = &[
    ("acccess", "access"),
    ("acces", "access"),
    ("accesss", "access"),
    ("accnt", "account"),
    ("accout", "account"),
    ("accoutn", "account"),
    ("accss", "access"),
    ("acct", "account"),
    ("acess", "access"),
    ("acount", "account"),
    ("axcess", "access"),
    ("cannot", "cant"),
    ("cert", "certificate"),
    ("certficate", "certificate"),
    ("certifcate", "certificate"),
    ("certs", "certificate"),
    ("cnat", "cant"),
    ("cnt", "cant"),
    ("databas", "database"),
    ("databse", "database"),
    ("datbase", "database"),
    ("datebase", "database"),
    ("doesent", "doesnt"),
    ("dosent", "doesnt"),
    ("dosnt", "doesnt"),
    ("eamil", "email"),
    ("emal", "email"),
    ("emial", "email"),
    ("env", "environment"),
    ("enviornment", "environment"),
    ("enviroment", "environment"),
    ("eror", "error"),
    ("erorr", "error"),
    ("err", "error"),
    ("errror", "error"),
    ("intermitent", "intermittent"),
    ("intermittant", "intermittent"),
    ("labtop", "laptop"),
    ("lapotp", "laptop"),
    ("laptp", "laptop"),
    ("licence", "license"),
    ("licences", "licenses"),
    ("licens", "license"),
    ("lisence", "license"),
    ("loggin", "login"),
    ("loging", "login"),
    ("logon", "login"),
    ("mins", "minutes"),
    ("outllok", "outlook"),
    ("outlok", "outlook"),
    ("passord", "password"),
    ("passowrd", "password"),
    ("passwd", "password"),
    ("passwort", "password"),
    ("passwrod", "password"),
    ("paswd", "password"),
    ("pasword", "password"),
    ("pc", "computer"),
    ("permision", "permission"),
    ("permisions", "permissions"),
    ("permisson", "permission"),
    ("permissons", "permissions"),
    ("perms", "permission"),
    ("permssion", "permission"),
    ("pleae", "please"),
    ("pleas", "please"),
    ("pls", "please"),
    ("plse", "please"),
    ("plss", "please"),
    ("plz", "please"),
    ("prd", "production"),
    ("premission", "permission"),
    ("priner", "printer"),
    ("printr", "printer"),
    ("pritner", "printer"),
    ("prod", "production"),
    ("pssword", "password"),
    ("pw", "password"),
    ("pwd", "password"),
    ("recieve", "receive"),
    ("recieved", "received"),
    ("req", "request"),
    ("reqest", "request"),
    ("requets", "request"),
    ("serer", "server"),
    ("servr", "server"),
    ("sever", "server"),
    ("signin", "login"),
    ("teh", "the"),
    ("u", "you"),
    ("unabel", "unable"),
    ("unble", "unable"),
    ("ur", "your"),
    ("urget", "urgent"),
    ("urgetn", "urgent"),
    ("urgnet", "urgent"),
];

fn correct(word: &str) -> Option<&'static str> {
    static MAP: LazyLock<HashMap<&str, &str, Fnv>> = LazyLock::new(|| CORRECTIONS.iter().copied().collect());
    // A cheap pre-check on (length, first letter) saves the lookup for most words.
    static SEEN: LazyLock<u128> = LazyLock::new(|| CORRECTIONS.iter().fold(0, |m, (typo, _)| m | shape(typo)));
    (*SEEN & shape(word) != 0).then(|| MAP.get(word).copied()).flatten()
}

/// One bit of 128 for a word's length and first byte.
fn shape(word: &str) -> u128 {
    let first = word.bytes().next().map_or(0, usize::from);
    1 << ((word.len() * 31 + first) % 128)
}

/// FNV-1a: a fast hash for the short words looked up per word of every ticket.
pub type Fnv = BuildHasherDefault<FnvHasher>;

#[derive(Debug)]
pub struct FnvHasher(u64);

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
                let doubled =
                    n >= 4 && b[n - 1] == b[n - 2] && !matches!(b[n - 1], b'l' | b's' | b'z') && !is_vowel(&b[n - 1]);
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

    #[test]
    fn corrections_are_sorted_and_distinct() {
        assert!(CORRECTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(correct("pasword"), Some("password"));
        assert_eq!(correct("password"), None);
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
