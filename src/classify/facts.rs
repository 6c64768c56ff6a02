//! Facts extracted from ticket text beyond fixed phrases: how many people are affected.
//!
//! "1,200 users", "40+ agents", "2k customers", "hundreds of employees", "three people", "a dozen
//! stores": a count followed (within two words) by a population noun gives an impact level:
//! 100 or more is 1 (high), 2..=99 is 2 (medium), one is 3 (low).

use super::text::{Field, Normalized, stem};

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

/// Nouns that count people or places affected (stemmed like the text).
const POPULATION: &[&str] = &[
    "user", "users", "customer", "customers", "people", "person", "persons", "staff", "employee", "employees", "agent",
    "agents", "member", "members", "colleague", "colleagues", "client", "clients", "store", "stores", "site", "sites",
    "branch", "branches", "office", "offices", "shop", "shops", "clinic", "clinics", "nurse", "nurses", "student",
    "students", "driver", "drivers", "seller", "sellers", "merchant", "merchants", "caller", "callers", "account",
    "accounts", "team", "teams", "warehouse", "warehouses", "tenant", "tenants", "workstation", "workstations",
    "machine", "machines", "laptop", "laptops", "device", "devices", "location", "locations", "rep", "reps",
];

/// Words between a count and its noun that do not break the link ("200 of our users", "40 sales reps").
const FILLER: &[&str] = &["of", "our", "the", "their", "my", "your", "internal", "external", "active", "other", "more", "plus"];

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
    if let Ok(n) = w.parse::<u64>() {
        return Some(n);
    }
    let digits = w.strip_suffix('k')?;
    digits.parse::<u64>().ok().map(|n| n * 1000)
}

/// The population nouns and fillers in stemmed form, built once.
pub struct Counter {
    nouns: Vec<String>,
    fillers: Vec<String>,
    quantities: Vec<(String, u64)>,
}

impl Default for Counter {
    fn default() -> Self {
        let stemmed = |words: &[&str]| {
            let mut v: Vec<String> = words.iter().map(|w| stem(w).into_owned()).collect();
            v.sort();
            v.dedup();
            v
        };
        let mut quantities: Vec<(String, u64)> = [
            "one", "single", "a", "an", "two", "couple", "three", "few", "four", "five", "several", "some", "six",
            "seven", "eight", "nine", "ten", "dozen", "twelve", "many", "multiple", "numerous", "various", "twenty",
            "thirty", "fifty", "lot", "lots", "dozens", "hundred", "hundreds", "thousand", "thousands", "million", "millions",
        ]
        .iter()
        .filter_map(|w| word_count(w).map(|n| (stem(w).into_owned(), n)))
        .collect();
        quantities.sort();
        quantities.dedup_by(|a, b| a.0 == b.0);
        Counter { nouns: stemmed(POPULATION), fillers: stemmed(FILLER), quantities }
    }
}

impl Counter {
    /// Every affected-population count in the text (summary and prose; log excerpts are skipped).
    pub fn find(&self, n: &Normalized) -> Vec<Affected> {
        let word = |i: usize| -> &str {
            let start = n.words[i].at as usize;
            let end = n.text[start..].find(' ').map_or(n.text.len(), |e| start + e);
            &n.text[start..end]
        };
        let mut out = Vec::new();
        for i in 0..n.words.len() {
            let field = n.words[i].field;
            if field == Field::Log {
                continue;
            }
            let w = word(i);
            let count = numeric_count(w).or_else(|| self.quantity(w));
            let Some(count) = count else { continue };
            // Up to three words to the noun, at most one of them not a filler ("40 sales agents").
            let mut other = 0;
            let mut j = i + 1;
            while j < n.words.len() && j <= i + 3 && n.words[j].field == field {
                let next = word(j);
                if self.nouns.binary_search_by(|p| p.as_str().cmp(next)).is_ok() {
                    out.push(Affected { count, words: (i, j), field });
                    break;
                }
                // Another count ("a few", "two hundred") is read from its own position.
                if self.quantity(next).is_some() || numeric_count(next).is_some() {
                    break;
                }
                if self.fillers.binary_search_by(|p| p.as_str().cmp(next)).is_err() {
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
        self.quantities.binary_search_by(|(q, _)| q.as_str().cmp(w)).ok().map(|i| self.quantities[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn impacts(text: &str) -> Vec<(u64, u8)> {
        let n = Normalized::ticket(text, "");
        Counter::default().find(&n).iter().map(|a| (a.count, a.impact())).collect()
    }

    #[test]
    fn counts_become_impact() {
        assert_eq!(impacts("about 1,200 users cannot log in"), [(1200, 1)]);
        assert_eq!(impacts("hundreds of our customers see errors"), [(100, 1)]);
        assert_eq!(impacts("40 sales agents are blocked"), [(40, 2)]);
        assert_eq!(impacts("a user reports slowness"), [(1, 3)]);
        assert_eq!(impacts("2k stores offline"), [(2000, 1)]);
        assert_eq!(impacts("error 500 on page 2"), []);
        assert_eq!(impacts("several colleagues in the team"), [(5, 2)]);
        assert_eq!(impacts("a lot of users, a few stores"), [(50, 2), (3, 2)]);
    }
}
