//! Configuration problems: where they are (`file:line:col`), what is wrong and how to fix it.
//!
//! Validation works with byte spans into the file ([`Diag`]); [`ConfigErrors`] turns them into
//! [`Problem`]s with line and column once, at the end. Messages never quote a secret: serde's own
//! messages (which quote the offending value) are rewritten here without the value.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem found while validating, located by a byte span into the configuration text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Diag {
    /// Where in the file; `None` when the problem concerns the file as a whole.
    pub span: Option<Range<usize>>,
    pub message: String,
    pub help: String,
}

impl Diag {
    pub fn new(span: Option<Range<usize>>, message: impl Into<String>, help: impl Into<String>) -> Diag {
        Diag { span, message: message.into(), help: help.into() }
    }

    /// This diagnostic as a warning (`file:line:col: warning: ...` plus a help line).
    pub fn warning(&self, file: &Path, text: &str) -> Problem {
        Problem { severity: Severity::Warning, ..Problem::locate(self, file, text) }
    }
}

/// Whether a problem stops the configuration from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is refused.
    Error,
    /// It works, but deserves attention (an inline secret, ...).
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One configuration problem, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file (e.g. it cannot be read).
    pub line: usize,
    /// 1-based column, counted in characters; 0 together with `line`.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
    pub severity: Severity,
}

impl Problem {
    fn locate(diag: &Diag, file: &Path, text: &str) -> Problem {
        let (line, col) = diag.span.as_ref().map_or((0, 0), |s| line_col(text, s.start));
        Problem {
            file: file.to_path_buf(),
            line,
            col,
            message: diag.message.clone(),
            help: diag.help.clone(),
            severity: Severity::Error,
        }
    }

    /// `file:line:col`, or the file alone when the problem concerns all of it.
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.display().to_string()
        } else {
            format!("{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}\n  help: {}", self.location(), self.severity.as_str(), self.message, self.help)
    }
}

/// Every problem found in a configuration file (never empty).
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    file: PathBuf,
    problems: Vec<Problem>,
}

impl ConfigErrors {
    /// Locate `diags` in `text`, sorted by position, exact duplicates removed.
    pub(super) fn new(file: &Path, text: &str, diags: Vec<Diag>) -> ConfigErrors {
        let mut problems: Vec<Problem> = diags.iter().map(|d| Problem::locate(d, file, text)).collect();
        problems.sort_by_key(|p| (p.line, p.col));
        problems.dedup();
        ConfigErrors { file: file.to_path_buf(), problems }
    }

    /// A single problem with the file as a whole (it cannot be read, ...).
    pub(super) fn whole_file(file: &Path, message: String, help: String) -> ConfigErrors {
        ConfigErrors::new(file, "", vec![Diag::new(None, message, help)])
    }

    /// A file that is not UTF-8: located at its first invalid byte (the column counted in characters
    /// of the valid part of that line).
    pub(super) fn not_utf8(file: &Path, bytes: &[u8], error: std::str::Utf8Error) -> ConfigErrors {
        let at = error.valid_up_to();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        // Not the byte's value: it might be part of an inline secret.
        let message = "the configuration file is not valid UTF-8: an invalid byte sequence starts here";
        let help = format!(
            "TOML files must be UTF-8: replace the character here, or convert the file, e.g. \
             `iconv -f LATIN1 -t UTF-8 {0} > fixed.toml` if it was saved as Latin-1; \
             `grep -naxv '.*' {0}` lists every line with invalid bytes",
            file.display()
        );
        ConfigErrors::new(file, valid, vec![Diag::new(Some(at..at), message, help)])
    }

    /// The problems, in file order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(f, "invalid configuration {}: {n} problem{plural}", self.file.display())?;
        for p in &self.problems {
            write!(f, "\n\n{p}")?;
        }
        Ok(())
    }
}

/// 1-based line and character column of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The closest candidate to `got`, if it is close enough to be what was meant (the classifier's
/// validator suggests queue names with it too).
pub(super) use crate::classify::rules::did_you_mean;

/// "did you mean `x`?" or a list of what is allowed.
fn suggestion(got: &str, allowed: &[String], what: &str) -> String {
    match did_you_mean(got, allowed.iter().map(String::as_str)) {
        Some(m) => format!("did you mean `{m}`?"),
        None if allowed.is_empty() => format!("remove this {what}: none is allowed here"),
        None => format!("{what}s allowed here: {}", allowed.join(", ")),
    }
}

/// The words serde quotes in backticks (`unknown field `x`, expected one of `a`, `b``).
fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// Turn a serde error into a problem. `key` is the dotted path of the entry the error is about (array
/// indices left out), `table` the path of the table that holds it ("" at the top level).
pub(super) fn from_serde(message: &str, span: Option<Range<usize>>, key: &str, table: &str) -> Diag {
    let at = |t: &str| if t.is_empty() { "at the top level".to_string() } else { format!("in `{t}`") };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let mut words = backticked(rest);
        let got = if words.is_empty() { String::new() } else { words.remove(0) };
        return Diag::new(span, format!("unknown key `{got}` {}", at(table)), suggestion(&got, &words, "key"));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let mut words = backticked(rest);
        let got = if words.is_empty() { String::new() } else { words.remove(0) };
        return Diag::new(
            span,
            format!("`{key}` cannot be \"{got}\": expected one of {}", quoted_list(&words)),
            suggestion(&got, &words, "value"),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = backticked(rest).into_iter().next().unwrap_or_default();
        return Diag::new(
            span,
            format!("missing required key `{field}` {}", at(key)),
            format!("add `{field} = ...` to this table"),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another type"));
        let expected = describe_expected(expected);
        return Diag::new(
            span,
            format!("wrong type for `{key}`: expected {expected}, found {}", describe_found(found)),
            format!("change the value to {expected}"),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = describe_expected(rest.split_once(", expected ").map_or("another value", |(_, e)| e));
        return Diag::new(
            span,
            format!("invalid value for `{key}`: expected {expected}"),
            format!("change the value to {expected}"),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another length"));
        return Diag::new(
            span,
            format!("wrong number of entries in `{key}`: found {found}, expected {expected}"),
            "add or remove entries",
        );
    }
    if message.starts_with("wanted string or table") {
        return Diag::new(
            span,
            format!("wrong type for `{key}`: expected a string"),
            "write the value as a quoted string",
        );
    }
    Diag::new(
        span,
        format!("`{key}`: {message}"),
        "see the commented example (`twotrack config init`) or the schema (`twotrack config schema`)",
    )
}

fn quoted_list(words: &[String]) -> String {
    words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(", ")
}

/// serde's name for what a visitor expected, in words for an administrator.
fn describe_expected(expected: &str) -> String {
    let e = expected.trim();
    match e {
        "usize" | "u64" | "u32" | "u16" => "a non-negative integer".into(),
        "u8" => "an integer from 0 to 255".into(),
        "i64" | "i32" | "isize" => "an integer".into(),
        "f64" | "f32" => "a number".into(),
        "a sequence" => "an array".into(),
        "a borrowed string" | "path string" | "a path" => "a string".into(),
        "variant identifier" => "a string".into(),
        "a boolean" => "`true` or `false`".into(),
        _ if e.starts_with("struct ") || e == "a map" => "a table".into(),
        _ => e.into(),
    }
}

/// serde's description of what it found, without the value itself (which may be a secret).
fn describe_found(found: &str) -> &'static str {
    let kind = found.split(['`', '"']).next().unwrap_or("").trim();
    match kind {
        "integer" => "an integer",
        "floating point" => "a number with a fraction",
        "string" => "a string",
        "boolean" => "a boolean",
        "sequence" => "an array",
        "map" => "a table",
        "character" => "a character",
        _ => "a value of another type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        let eq = text.find('=').unwrap();
        assert_eq!(line_col(text, eq), (1, 3));
        let opening_quote = text.find("\"x").unwrap();
        assert_eq!(line_col(text, opening_quote), (2, 6), "é is one column, not two bytes");
    }

    #[test]
    fn did_you_mean_finds_close_words_only() {
        let keys = ["name", "kind", "role", "base_url"];
        assert_eq!(did_you_mean("bse_url", keys), Some("base_url"));
        assert_eq!(did_you_mean("Role", keys), Some("role"));
        assert_eq!(did_you_mean("zzzz", keys), None);
    }

    #[test]
    fn serde_messages_are_rewritten_without_values() {
        let d = from_serde("invalid type: string \"hunter2\", expected usize", None, "policy.max_moves", "policy");
        assert_eq!(d.message, "wrong type for `policy.max_moves`: expected a non-negative integer, found a string");
        assert!(!d.message.contains("hunter2") && !d.help.contains("hunter2"));

        let d = from_serde("unknown field `bse_url`, expected one of `name`, `base_url`", None, "", "tracker");
        assert_eq!(d.message, "unknown key `bse_url` in `tracker`");
        assert_eq!(d.help, "did you mean `base_url`?");

        let d = from_serde("unknown variant `prodct`, expected `product` or `service`", None, "tracker.role", "");
        assert_eq!(d.message, "`tracker.role` cannot be \"prodct\": expected one of \"product\", \"service\"");
        assert_eq!(d.help, "did you mean `product`?");

        let d = from_serde("missing field `id`", None, "rule", "");
        assert_eq!(d.message, "missing required key `id` in `rule`");
    }

    #[test]
    fn errors_display_every_problem_in_file_order() {
        let text = "a = 1\nb = 2\n";
        let diags = vec![Diag::new(Some(6..7), "second", "fix b"), Diag::new(Some(0..1), "first", "fix a")];
        let e = ConfigErrors::new(Path::new("t.toml"), text, diags);
        assert_eq!(
            e.to_string(),
            "invalid configuration t.toml: 2 problems\n\n\
             t.toml:1:1: error: first\n  help: fix a\n\n\
             t.toml:2:1: error: second\n  help: fix b"
        );
        assert_eq!(e.problems()[1].line, 2);
    }
}
