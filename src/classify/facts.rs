//! Facts read from ticket text beyond fixed phrases.
//!
//! - Tokens that are recognisably something: a version number, a code identifier, a host name, an
//!   IP address, a person's login or e-mail, a service-desk ticket number, a file share. The
//!   normaliser adds them to the text as marker words (`fact:version`, ...) so rules match them
//!   like phrases (see [`token_fact`]).
//! - How many people are affected: "1,200 users", "40 agents", "2k customers", "hundreds of
//!   employees", "a dozen stores": a count followed (within three words) by a population noun gives
//!   an impact level: 100 or more is 1 (high), 2..=99 is 2 (medium), one is 3 (low). The nouns and
//!   the words allowed between are data: `[affected]` in `config/vocabulary.toml`.

use std::collections::{HashMap, HashSet};

use super::text::{Field, Fnv, Normalized, WordFilter, stem};

/// The facts a token can be, as the marker word rules match (`match = ["fact:version"]`).
pub const FACTS: &[&str] =
    &["fact:version", "fact:code", "fact:host", "fact:ip", "fact:person", "fact:ticket", "fact:share", "fact:many"];

/// What a whitespace-separated token of the original text is, if it is recognisably something.
pub fn token_fact(raw: &str) -> Option<&'static str> {
    // Most tokens are words, maybe capitalised or followed by punctuation: nothing to see. A fact
    // needs a digit, a capital inside, or one of `@ ( # \` anywhere or `. - _ :` inside.
    let b = raw.as_bytes();
    let last = b.len().saturating_sub(1);
    let telling = b.iter().enumerate().any(|(i, &c)| match c {
        b'0'..=b'9' | b'@' | b'(' | b'#' | b'\\' => true,
        b'.' | b'-' | b'_' | b':' => i < last,
        b'A'..=b'Z' => i > 0,
        _ => false,
    });
    if !telling && b.len() != 2 {
        return None;
    }
    let t = raw.trim_matches(|c: char| {
        matches!(c, ',' | ';' | ':' | '!' | '?' | '"' | '\'' | '`' | '(' | ')' | '[' | ']' | '<' | '>' | '*')
    });
    let t = t.strip_suffix('.').unwrap_or(t);
    let r = raw.trim_end_matches([',', '.', ';']);
    if r.starts_with("\\\\") || (r.len() == 2 && r.ends_with(':') && r.as_bytes()[0].is_ascii_uppercase()) {
        return Some("fact:share");
    }
    if t.len() < 3 {
        return None;
    }
    // Each test below is tried only where what it needs is there (a dot, a leading digit, ...).
    let shape = Shape::of(t);
    let tb = t.as_bytes();
    if shape.dot && tb[0].is_ascii_digit() && is_ip(t) {
        return Some("fact:ip");
    }
    let version_start = if matches!(tb[0], b'v' | b'V') { tb[1] } else { tb[0] };
    if shape.dot && version_start.is_ascii_digit() && is_version(t) {
        return Some("fact:version");
    }
    if tb[0].is_ascii_uppercase() && shape.digit && is_ticket(t) {
        return Some("fact:ticket");
    }
    let trimmed = raw.trim();
    if (shape.at && is_email(t)) || ((shape.dot || trimmed.starts_with('(')) && is_login(trimmed, t)) {
        return Some("fact:person");
    }
    if (shape.hash || shape.paren || shape.dot || shape.upper) && is_code(t, &shape) {
        return Some("fact:code");
    }
    if shape.host && is_host(t) {
        return Some("fact:host");
    }
    None
}

/// Which bytes a token has, for the cheap pre-checks of [`token_fact`].
struct Shape {
    dot: bool,
    /// Two dots or more.
    dots: bool,
    digit: bool,
    upper: bool,
    at: bool,
    hash: bool,
    /// An opening parenthesis.
    paren: bool,
    /// Only lower-case letters, digits, `-` and `.`: what a host name is made of.
    host: bool,
}

impl Shape {
    fn of(t: &str) -> Shape {
        let mut s = Shape {
            dot: false,
            dots: false,
            digit: false,
            upper: false,
            at: false,
            hash: false,
            paren: false,
            host: true,
        };
        for &b in t.as_bytes() {
            match b {
                b'.' => {
                    s.dots |= s.dot;
                    s.dot = true;
                }
                b'0'..=b'9' => s.digit = true,
                b'A'..=b'Z' => s.upper = true,
                b'@' => s.at = true,
                b'#' => s.hash = true,
                b'(' => s.paren = true,
                _ => {}
            }
            s.host &= b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
        }
        s
    }
}

/// `3.18.5`, `v6.20`, `v2`, `10.4.1-rc2`.
fn is_version(t: &str) -> bool {
    let (v, body) = match t.strip_prefix(['v', 'V']) {
        Some(b) => (true, b),
        None => (false, t),
    };
    let core = body.split(['-', '+']).next().unwrap_or_default();
    let parts = core.split('.').count();
    let numeric = !core.is_empty()
        && core.split('.').all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    numeric && (parts >= 3 || (v && parts >= 2))
}

fn is_ip(t: &str) -> bool {
    let t = t.split('/').next().unwrap_or_default();
    t.split('.').count() == 4
        && t.split('.').all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Service-desk numbers: `INC0012345`, `RITM0004567`, `REQ0001234`, `CHG0030001`, `CASE-12892`, `SR-1234`.
fn is_ticket(t: &str) -> bool {
    const PREFIXES: &[&str] =
        &["INC", "RITM", "REQ", "SCTASK", "TASK", "CHG", "PRB", "CASE", "SR", "TKT", "TICKET", "CS"];
    PREFIXES.iter().any(|p| {
        t.strip_prefix(p).is_some_and(|rest| {
            let digits = rest.trim_start_matches(['-', '#']);
            digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit())
        })
    })
}

fn is_email(t: &str) -> bool {
    let Some((user, domain)) = t.split_once('@') else { return false };
    !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.contains('@')
}

/// A login: `first.last` (not a domain or a file name), or a lower-case id in parentheses: `(jdoe)`.
fn is_login(raw: &str, t: &str) -> bool {
    if raw.starts_with('(') && raw.trim_end_matches([',', '.', ';']).ends_with(')') {
        return (3..=12).contains(&t.len())
            && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && t.bytes().any(|b| b.is_ascii_lowercase());
    }
    const NOT_NAMES: &[&str] = &[
        "com", "org", "net", "io", "co", "uk", "de", "fr", "nl", "es", "it", "eu", "us", "dev", "app", "local",
        "internal", "corp", "js", "ts", "py", "java", "rb", "go", "rs", "php", "cs", "kt", "html", "css", "json",
        "xml", "yaml", "yml", "toml", "csv", "pdf", "png", "jpg", "jpeg", "gif", "txt", "log", "md", "doc", "docx",
        "xls", "xlsx", "ppt", "pptx", "zip", "exe", "msi", "dmg", "sh", "bat", "ps1", "sql", "conf", "cfg", "ini",
        "env", "lock", "jar", "war", "tar", "gz",
    ];
    let mut parts = t.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(first), Some(last), None) => {
            let name = |p: &str| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_lowercase());
            name(first) && name(last) && !NOT_NAMES.contains(&last)
        }
        _ => false,
    }
}

/// Code: `OrderService`, `CheckoutController.total()`, `Form#onSubmit`, `get_user_by_id()`,
/// `java.lang.NullPointerException`, `cart_service.py`.
fn is_code(t: &str, shape: &Shape) -> bool {
    const SUFFIXES: &[&str] = &[
        "Controller",
        "Service",
        "Exception",
        "Error",
        "Manager",
        "Handler",
        "Repository",
        "Factory",
        "Provider",
        "Helper",
        "Util",
        "Utils",
        "Test",
        "Tests",
        "Impl",
        "Dao",
        "Dto",
        "Bean",
        "Component",
        "Module",
        "View",
        "Model",
        "Client",
        "Adapter",
        "Config",
        "Mapper",
        "Resolver",
        "Listener",
        "Builder",
        "Validator",
        "Serializer",
        "Panel",
        "Page",
        "Job",
        "Worker",
        "Store",
        "Reducer",
        "Hook",
        "Spec",
    ];
    const EXTENSIONS: &[&str] = &[
        ".java", ".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".rb", ".php", ".cs", ".kt", ".swift", ".vue",
        ".scss", ".cpp", ".h",
    ];
    if shape.hash && t.split('#').all(|p| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')) {
        return true;
    }
    if shape.paren && (t.ends_with("()") || (t.contains(')') && !t.starts_with('('))) {
        return true;
    }
    if shape.dot && EXTENSIONS.iter().any(|e| t.ends_with(e) && t.len() > e.len()) {
        return true;
    }
    // Camel case and dotted names below both need a capital.
    if !shape.upper {
        return false;
    }
    let humps = t.as_bytes().windows(2).filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase()).count();
    let camel = t.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && humps >= 1
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    if camel && (humps >= 2 || SUFFIXES.iter().any(|s| t.ends_with(s))) {
        return true;
    }
    // Dotted Java-style names: java.lang.NullPointerException, com.acme.OrderService.
    shape.dots
        && t.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        && t.bytes().any(|b| b.is_ascii_uppercase())
}

/// A host name: `web-prod-07`, `app-server-02`, `db01`, `nas02.corp.local`.
fn is_host(t: &str) -> bool {
    if !t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.') {
        return false;
    }
    if [".local", ".internal", ".corp", ".lan", ".intra"].iter().any(|d| t.ends_with(d)) {
        return true;
    }
    let host = t.split('.').next().unwrap_or_default();
    let letters = host.bytes().take_while(u8::is_ascii_lowercase).count();
    let digits = host.bytes().rev().take_while(u8::is_ascii_digit).count();
    if letters < 2 || digits == 0 {
        return false;
    }
    // `web-prod-07`; or short letters then digits only: `db01`, `srv12`.
    host.contains('-') || ((2..=5).contains(&letters) && letters + digits == host.len() && digits <= 3)
}

/// An affected-population count found in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Affected {
    /// The number of people (or sites, stores, ...) affected, as read.
    pub count: u64,
    /// First and last word index of the evidence.
    pub words: (usize, usize),
    pub field: Field,
}

impl Affected {
    /// ITIL impact for this many affected.
    pub fn impact(&self) -> u8 {
        match self.count {
            0..=1 => 3,
            2..=99 => 2,
            _ => 1,
        }
    }
}

/// Spelled-out counts.
fn word_count(w: &str) -> Option<u64> {
    Some(match w {
        "one" | "single" | "a" | "an" => 1,
        "two" | "couple" => 2,
        "three" | "few" => 3,
        "four" => 4,
        "five" | "several" | "some" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "dozen" | "twelve" => 12,
        "many" | "multiple" | "numerous" | "various" | "twenty" => 20,
        "thirty" | "dozens" => 30,
        "fifty" | "lot" | "lots" => 50,
        "hundred" | "hundreds" => 100,
        "thousand" | "thousands" => 1000,
        "million" | "millions" => 1_000_000,
        _ => return None,
    })
}

/// A numeric count: "40", "1200", "2k".
fn numeric_count(w: &str) -> Option<u64> {
    // Both readings below need a leading digit (words never start with a sign).
    if !w.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if let Ok(n) = w.parse::<u64>() {
        return Some(n);
    }
    let digits = w.strip_suffix('k')?;
    digits.parse::<u64>().ok().map(|n| n * 1000)
}

/// The population nouns and fillers (`[affected]` in `config/vocabulary.toml`) in stemmed form, built
/// once per classifier.
pub struct Counter {
    nouns: HashSet<String, Fnv>,
    fillers: HashSet<String, Fnv>,
    quantities: HashMap<String, u64, Fnv>,
    /// The quantities again: most words are ruled out without a lookup.
    quantity_filter: WordFilter,
}

impl Default for Counter {
    fn default() -> Self {
        let stemmed = |words: &[String]| words.iter().map(|w| stem(w).into_owned()).collect();
        let quantities: HashMap<String, u64, Fnv> = [
            "one",
            "single",
            "a",
            "an",
            "two",
            "couple",
            "three",
            "few",
            "four",
            "five",
            "several",
            "some",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "dozen",
            "twelve",
            "many",
            "multiple",
            "numerous",
            "various",
            "twenty",
            "thirty",
            "fifty",
            "lot",
            "lots",
            "dozens",
            "hundred",
            "hundreds",
            "thousand",
            "thousands",
            "million",
            "millions",
        ]
        .iter()
        .filter_map(|w| word_count(w).map(|n| (stem(w).into_owned(), n)))
        .collect();
        let mut quantity_filter = WordFilter::EMPTY;
        quantities.keys().for_each(|w| quantity_filter.insert(w));
        let words = &super::rules::vocabulary().affected;
        Counter { nouns: stemmed(&words.population), fillers: stemmed(&words.filler), quantities, quantity_filter }
    }
}

impl Counter {
    /// Every affected-population count in the text (summary and prose; log excerpts are skipped).
    /// `summary` and `description` are the original texts, to tell "100 sites" from "100% site".
    pub fn find(&self, n: &Normalized, summary: &str, description: &str) -> Vec<Affected> {
        let word = |i: usize| n.word(i);
        let mut out = Vec::new();
        for i in 0..n.words.len() {
            let field = n.words[i].field;
            if field == Field::Log {
                continue;
            }
            let w = word(i);
            let Some(count) = numeric_count(w).or_else(|| self.quantity(w)) else { continue };
            // "100% site" is no count.
            let source = if field == Field::Summary { summary } else { description };
            if source.as_bytes().get(n.words[i].source.1 as usize) == Some(&b'%') {
                continue;
            }
            // Up to three words to the noun, at most one of them not a filler ("40 sales agents").
            let mut other = 0;
            let mut j = i + 1;
            while j < n.words.len() && j <= i + 3 && n.words[j].field == field {
                let next = word(j);
                if self.nouns.contains(next) {
                    out.push(Affected { count, words: (i, j), field });
                    break;
                }
                // Another count ("a few", "two hundred") is read from its own position.
                if self.quantity(next).is_some() || numeric_count(next).is_some() {
                    break;
                }
                if !self.fillers.contains(next) {
                    other += 1;
                    if other > 1 {
                        break;
                    }
                }
                j += 1;
            }
        }
        out
    }

    fn quantity(&self, w: &str) -> Option<u64> {
        if !self.quantity_filter.may_contain(w) {
            return None;
        }
        self.quantities.get(w).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn impacts(text: &str) -> Vec<(u64, u8)> {
        let n = Normalized::ticket(text, "");
        Counter::default().find(&n, text, "").iter().map(|a| (a.count, a.impact())).collect()
    }

    #[test]
    fn tokens_are_recognised() {
        let cases = [
            ("3.18.5", Some("fact:version")),
            ("v6.20", Some("fact:version")),
            ("10.0.0.12", Some("fact:ip")),
            ("INC0012345", Some("fact:ticket")),
            ("CASE-12892?", Some("fact:ticket")),
            ("jane.doe@example.com", Some("fact:person")),
            ("mateo.dubois", Some("fact:person")),
            ("(emiller)", Some("fact:person")),
            ("CheckoutController", Some("fact:code")),
            ("Form#onSubmit", Some("fact:code")),
            ("java.lang.NullPointerException:", Some("fact:code")),
            ("cart_service.py", Some("fact:code")),
            ("web-prod-07", Some("fact:host")),
            ("db01", Some("fact:host")),
            ("\\\\fs02\\projects", Some("fact:share")),
            ("S:", Some("fact:share")),
            ("iPhone", None),
            ("example.com", None),
            ("2am", None),
            ("Windows", None),
            ("PAY-123", None),
            ("e-mail", None),
            ("report.pdf", None),
        ];
        for (token, want) in cases {
            assert_eq!(token_fact(token), want, "{token}");
        }
    }

    #[test]
    fn counts_become_impact() {
        assert_eq!(impacts("about 1,200 users cannot log in"), [(1200, 1)]);
        assert_eq!(impacts("hundreds of our customers see errors"), [(100, 1)]);
        assert_eq!(impacts("40 sales agents are blocked"), [(40, 2)]);
        assert_eq!(impacts("a user reports slowness"), [(1, 3)]);
        assert_eq!(impacts("2k stores offline"), [(2000, 1)]);
        assert_eq!(impacts("error 500 on page 2, cpu 100% site wide"), []);
        assert_eq!(impacts("several colleagues in the team"), [(5, 2)]);
        assert_eq!(impacts("a lot of users, a few stores"), [(50, 2), (3, 2)]);
    }
}
