//! JSON Lines input in bounded memory, for `twotrack classify`.
//!
//! Each line is read a buffer at a time, and every JSON string in it is cut to a byte cap as it is read
//! (on a character boundary, never inside an escape): a line with a 50 MB summary costs the cap, not
//! 50 MB. What is kept is still valid JSON, parsed as usual. A line that is not UTF-8, or that stays
//! too long once its strings are cut, is an invalid line (which `--skip-invalid` skips), not a failed
//! input.

use std::io::{self, BufRead};

/// A string cut to the cap: the field it was the value of, and its length in the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cut {
    /// The key the string is the value of (of an array's items, the array's key).
    pub field: String,
    /// The string's length in the input, in bytes (as written, escapes included).
    pub bytes: u64,
}

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// The line, its strings cut to the cap.
    Text { number: usize, text: String, cuts: Vec<Cut> },
    /// Not UTF-8, or too long even with its strings cut.
    Invalid { number: usize, why: String },
}

/// Reads lines of `input`, cutting each JSON string to `cap` bytes.
pub struct BoundedLines<R> {
    input: R,
    cap: usize,
    /// The most a line may keep once its strings are cut (its structure: keys, numbers, many strings).
    max_line: usize,
    number: usize,
    buf: Vec<u8>,
}

/// Of a key, only this much is kept to name a cut.
const KEY_BYTES: usize = 64;

/// The nesting the scanner keeps track of.
const MAX_DEPTH: usize = 256;

impl<R: BufRead> BoundedLines<R> {
    pub fn new(input: R, cap: usize) -> Self {
        let cap = cap.max(1);
        BoundedLines { input, cap, max_line: cap.saturating_mul(16).max(1 << 20), number: 0, buf: Vec::new() }
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.buf.clear();
        let mut scan = Scan::default();
        let mut read_any = false;
        let mut too_long = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let end = chunk.iter().position(|&b| b == b'\n');
            let part = &chunk[..end.unwrap_or(chunk.len())];
            for &b in part {
                scan.byte(b, &mut self.buf, self.cap);
                if self.buf.len() > self.max_line {
                    too_long = true;
                    self.buf.clear();
                    scan.discard();
                }
            }
            let used = end.map_or(chunk.len(), |e| e + 1);
            self.input.consume(used);
            if end.is_some() {
                break;
            }
        }
        self.number += 1;
        let number = self.number;
        if too_long {
            let why = format!("longer than {} bytes even with each text cut to {} bytes", self.max_line, self.cap);
            return Ok(Some(Line::Invalid { number, why }));
        }
        match String::from_utf8(std::mem::take(&mut self.buf)) {
            Ok(text) => Ok(Some(Line::Text { number, text, cuts: scan.cuts })),
            Err(e) => {
                self.buf = e.into_bytes();
                Ok(Some(Line::Invalid { number, why: "not valid UTF-8".into() }))
            }
        }
    }
}

/// Where the scanner is in a line.
#[derive(Debug, Default)]
struct Scan {
    in_string: bool,
    /// 0: none; 1: after a backslash; 2..=5: reading the hex digits of `\u`.
    escape: u8,
    hex: u32,
    /// Where the last `\u` escape started in the output, and whether it was a high surrogate.
    escape_at: usize,
    high_surrogate_at: Option<usize>,
    /// Where the current string's content starts in the output.
    start: usize,
    /// The current string's length in the input.
    len: u64,
    cutting: bool,
    /// Whether the current string is an object's key (never cut: the item would lose the field).
    is_key: bool,
    /// The open objects (`true`) and arrays, and whether a key comes next.
    open: Vec<bool>,
    deeper: usize,
    expect_key: bool,
    /// The last string read (a key, when a `:` follows it) and the current key.
    last: String,
    key: String,
    cuts: Vec<Cut>,
}

impl Scan {
    fn byte(&mut self, b: u8, out: &mut Vec<u8>, cap: usize) {
        if !self.in_string {
            match b {
                b'"' => {
                    self.in_string = true;
                    self.is_key = self.expect_key;
                    self.start = out.len() + 1;
                    self.len = 0;
                    self.cutting = false;
                    self.escape = 0;
                    self.high_surrogate_at = None;
                }
                b':' => {
                    self.key = std::mem::take(&mut self.last);
                    self.expect_key = false;
                }
                b'{' | b'[' => {
                    // Deeper than any parser goes (serde_json stops at 128): counted, not kept.
                    if self.open.len() < MAX_DEPTH {
                        self.open.push(b == b'{');
                    } else {
                        self.deeper += 1;
                    }
                    self.expect_key = b == b'{';
                }
                b'}' | b']' => {
                    if self.deeper > 0 {
                        self.deeper -= 1;
                    } else {
                        self.open.pop();
                    }
                    self.expect_key = false;
                }
                b',' => self.expect_key = self.open.last() == Some(&true),
                _ => {}
            }
            out.push(b);
            return;
        }
        if self.escape == 0 && b == b'"' {
            self.end_string(out);
            out.push(b);
            return;
        }
        self.len += 1;
        // Cut before a character or an escape starts, once the cap is reached.
        if !self.cutting && !self.is_key && self.escape == 0 && (b & 0xC0) != 0x80 && out.len() - self.start >= cap {
            self.cutting = true;
            // A high surrogate without its low half would not parse.
            if let Some(at) = self.high_surrogate_at.filter(|&at| out.len() - at == 6) {
                out.truncate(at);
            }
        }
        if !self.cutting {
            out.push(b);
        }
        self.escape = match (self.escape, b) {
            (0, b'\\') => {
                self.escape_at = out.len().saturating_sub(1);
                1
            }
            (0, _) => {
                self.high_surrogate_at = None;
                0
            }
            (1, b'u') => {
                self.hex = 0;
                2
            }
            (1, _) => {
                self.high_surrogate_at = None;
                0
            }
            (n, _) => {
                self.hex = self.hex * 16 + char::from(b).to_digit(16).unwrap_or(0);
                if n < 5 {
                    n + 1
                } else {
                    self.high_surrogate_at = (0xD800..=0xDBFF).contains(&self.hex).then_some(self.escape_at);
                    0
                }
            }
        };
    }

    fn end_string(&mut self, out: &[u8]) {
        self.in_string = false;
        if self.cutting {
            self.cuts.push(Cut { field: self.key.clone(), bytes: self.len });
        }
        let content = &out[self.start.min(out.len())..];
        let shown = &content[..content.len().min(KEY_BYTES)];
        self.last = String::from_utf8_lossy(shown).into_owned();
    }

    /// The line is too long: what was kept goes, the scan goes on to the line's end.
    fn discard(&mut self) {
        self.start = 0;
        self.high_surrogate_at = None;
        self.cutting = self.in_string;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<Line> {
        let mut r = BoundedLines::new(input, cap);
        std::iter::from_fn(|| r.next_line().unwrap()).collect()
    }

    fn text(line: &Line) -> (&str, &[Cut]) {
        match line {
            Line::Text { text, cuts, .. } => (text, cuts),
            Line::Invalid { why, .. } => panic!("invalid: {why}"),
        }
    }

    #[test]
    fn short_lines_pass_unchanged() {
        let input = b"{\"id\":\"A-1\",\"summary\":\"Reset \\\"my\\\" password\"}\n\n{\"id\":\"A-2\"}";
        let got = lines(input, 64);
        assert_eq!(got.len(), 3);
        assert_eq!(text(&got[0]), ("{\"id\":\"A-1\",\"summary\":\"Reset \\\"my\\\" password\"}", &[][..]));
        assert_eq!(text(&got[1]).0, "");
        assert_eq!(text(&got[2]).0, "{\"id\":\"A-2\"}");
    }

    #[test]
    fn long_strings_are_cut_on_a_character_boundary_and_named() {
        let long = "é".repeat(10); // 20 bytes
        let input = format!(
            "{{\"id\":\"A-1\",\"summary\":\"{long}\",\"labels\":[\"ok\",\"abcdefghijk\"],\"fields\":{{\"category\":\"abcdef\"}}}}\n"
        );
        let got = lines(input.as_bytes(), 5);
        let (t, cuts) = text(&got[0]);
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        assert_eq!(v["summary"], "ééé", "6 bytes: the cap reached, cut before the next character");
        assert_eq!(v["labels"][1], "abcde");
        assert_eq!(v["fields"]["category"], "abcde", "keys are never cut, values at any depth are");
        assert_eq!(
            cuts,
            [
                Cut { field: "summary".into(), bytes: 20 },
                Cut { field: "labels".into(), bytes: 11 },
                Cut { field: "category".into(), bytes: 6 }
            ]
        );
    }

    #[test]
    fn escapes_are_never_split_nor_a_surrogate_pair() {
        for cap in 1..16 {
            let input = r#"{"s":"a\n\u00e9\ud83d\ude00\\b\"c", "t": [1, {"u": "x"}]}"#;
            let got = lines(input.as_bytes(), cap);
            let v: serde_json::Value =
                serde_json::from_str(text(&got[0]).0).unwrap_or_else(|e| panic!("cap {cap}: {e}"));
            assert!("a\né😀\\b\"c".starts_with(v["s"].as_str().unwrap()), "cap {cap}: {v}");
        }
    }

    #[test]
    fn a_line_that_is_not_utf8_is_invalid_and_the_next_one_is_read() {
        let got = lines(b"{\"s\":\"ok \xff\xfe\"}\n{\"s\":\"fine\"}\n", 64);
        assert_eq!(got[0], Line::Invalid { number: 1, why: "not valid UTF-8".into() });
        assert_eq!(text(&got[1]).0, "{\"s\":\"fine\"}");
    }

    #[test]
    fn a_line_too_long_even_cut_is_invalid() {
        let mut input = vec![b' '; 3 << 20];
        input.extend_from_slice(b"\n{}\n");
        let got = lines(&input, 1);
        assert!(matches!(&got[0], Line::Invalid { number: 1, why } if why.starts_with("longer than")), "{got:?}");
        assert_eq!(text(&got[1]).0, "{}");
    }
}
