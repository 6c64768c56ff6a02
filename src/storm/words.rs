//! The words a storm is recognised by: a ticket's text as a set of content words.
//!
//! Deliberately simpler than the classifier's normaliser (`classify::text`): a storm is found by the
//! words many reports share, so only what makes two wordings of one outage meet matters here. A word
//! is a run of ASCII letters and digits (other letters pass through lower-cased), lower-cased, with a
//! plural `s` folded ("errors" -> "error"). Stop words and numbers that look like timestamps, ids or
//! counts (more than four characters with a digit) are dropped: they say nothing about the event.

/// At most this many bytes of a description are read: the first paragraphs say what happened; logs
/// and signatures below them only add noise (and cost).
pub const DESCRIPTION_BYTES: usize = 1200;

/// English function words and ticket boilerplate that every report may contain.
const STOP: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before",
    "being", "but", "by", "can", "cannot", "cant", "could", "did", "do", "doe", "doesnt", "dont", "for", "from", "get",
    "getting", "got", "ha", "had", "has", "have", "hello", "help", "hi", "how", "i", "if", "im", "in", "into", "is",
    "isnt", "it", "its", "ive", "just", "know", "let", "like", "me", "my", "no", "not", "now", "of", "on", "one", "or",
    "our", "out", "please", "pls", "regard", "regards", "so", "some", "still", "team", "thank", "thanks", "that",
    "the", "their", "them", "then", "there", "these", "they", "thi", "this", "to", "u", "up", "us", "wa", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "will", "with", "would", "you", "your",
];

/// A word of up to eight bytes as one number (its bytes, zero-padded: words hold no NUL), so that
/// looking it up among the stop words compares numbers, not text; `None` for a longer word, which is
/// no stop word.
fn packed(word: &str) -> Option<u64> {
    let bytes = word.as_bytes();
    let mut out = [0u8; 8];
    out.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(u64::from_be_bytes(out))
}

/// [`STOP`], packed and sorted.
static STOP_PACKED: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
    let mut packed: Vec<u64> = STOP.iter().filter_map(|w| packed(w)).collect();
    packed.sort_unstable();
    packed
});

/// Whether `word` (lower-cased, folded) is a stop word.
fn is_stop(word: &str) -> bool {
    packed(word).is_some_and(|p| STOP_PACKED.binary_search(&p).is_ok())
}

/// Calls `emit` with every content word of `text`, in order (repeats included), reusing `buf`.
pub fn each_word(text: &str, buf: &mut String, mut emit: impl FnMut(&str)) {
    let mut flush = |buf: &mut String| {
        if !buf.is_empty() {
            let word = fold(buf);
            if keep(word) {
                emit(word);
            }
            buf.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii() {
            // Most text: the same as below, without the Unicode tables.
            if c.is_ascii_alphanumeric() {
                buf.push(c.to_ascii_lowercase());
            } else if c != '\'' {
                flush(buf);
            }
        } else if c.is_alphanumeric() {
            buf.extend(c.to_lowercase());
        } else if c == '\u{2019}' {
            // "can't" -> "cant": an apostrophe inside a word joins it.
        } else {
            flush(buf);
        }
    }
    flush(buf);
}

/// The plural `s` folded: "errors" -> "error", "users" -> "user"; "access", "status" and short words
/// stay.
fn fold(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() >= 3 && !stem.ends_with('s') && !stem.ends_with('u') => stem,
        _ => word,
    }
}

fn keep(word: &str) -> bool {
    if word.len() < 2 || is_stop(word) {
        return false;
    }
    // "503" or "v2" say what failed; "20251104", "10:42" pieces and ids do not.
    !(word.len() > 4 && word.bytes().any(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::site::clip;

    fn words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        each_word(text, &mut String::new(), |w| out.push(w.to_string()));
        out
    }

    #[test]
    fn stop_words_are_listed_once_in_order() {
        assert!(STOP.windows(2).all(|w| w[0] < w[1]), "STOP must be sorted and unique");
    }

    #[test]
    fn content_words_are_lower_cased_and_plurals_folded() {
        assert_eq!(words("Checkout is DOWN: can't pay for orders!"), ["checkout", "down", "pay", "order"]);
        assert_eq!(words("Access status"), ["access", "status"]);
        assert_eq!(words("Error 503 on v2 since 20251104T10:42"), ["error", "503", "v2", "since", "42"]);
    }

    #[test]
    fn the_ascii_path_reads_as_the_unicode_one() {
        // The rule as the Unicode tables say it, for every character: what the fast path must match.
        fn by_tables(text: &str) -> Vec<String> {
            let (mut out, mut buf) = (Vec::new(), String::new());
            let mut flush = |buf: &mut String| {
                let word = fold(buf);
                if !buf.is_empty() && keep(word) {
                    out.push(word.to_string());
                }
                buf.clear();
            };
            for c in text.chars() {
                if c.is_alphanumeric() {
                    buf.extend(c.to_lowercase());
                } else if c != '\'' && c != '\u{2019}' {
                    flush(&mut buf);
                }
            }
            flush(&mut buf);
            out
        }
        let texts = [
            "Checkout is DOWN: can't pay for orders! VPN's 503s since 10:42",
            "Ünïcode ÉRRORS in Zürich’s STRASSE-Büro; İstanbul users, ΣΊΣΥΦΟΣ",
            "tabs\tand\nnewlines, under_scores, e-mail@example.com (x2) [v3] {ok}",
            "",
            " ’’’ ... CAN'T cant Can’t",
        ];
        for text in texts {
            assert_eq!(words(text), by_tables(text), "{text:?}");
        }
        // Every ASCII character between two words.
        for b in 0u8..128 {
            let text = format!("Alpha{}Beta", b as char);
            assert_eq!(words(&text), by_tables(&text), "{text:?}");
        }
    }

    #[test]
    fn every_stop_word_is_found_and_nothing_else() {
        assert_eq!(STOP_PACKED.len(), STOP.len(), "every stop word fits in eight bytes");
        assert!(STOP.iter().all(|w| is_stop(w)));
        for word in ["ab", "abo", "abouts", "thes", "wass", "yours", "regardss", "outage", "checkout"] {
            assert!(!is_stop(word), "{word}");
        }
    }

    #[test]
    fn head_cuts_on_a_character_boundary() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("hello", 10), "hello");
    }
}
