//! The parsed TOML document: a span for every key and value, and serde deserialization that reports
//! every error rather than the first.
//!
//! serde stops at the first error. To find all of them, [`Document::deserialize`] records the error,
//! removes the entry it is about (an unknown key, a value of the wrong type, a table missing a required
//! key) and tries again, until the rest deserializes. Validation then looks up spans by path
//! (`"tracker.1.auth.token"`: keys and array indices joined by dots) in the same pruned document, so
//! the raw structs stay plain data.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diag::{self, Diag};

/// Give up collecting after this many structural errors (each costs one deserialization attempt).
const MAX_ERRORS: usize = 100;

/// A syntactically valid TOML document.
pub(super) struct Document<'t> {
    root: Spanned<DeTable<'t>>,
    /// Paths of the entries removed because serde rejected them (already reported).
    pruned: Vec<String>,
}

/// One step of a path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A key/value entry or an array element, with its spans.
#[derive(Debug)]
struct Node {
    path: Vec<Seg>,
    key: Option<Range<usize>>,
    value: Range<usize>,
}

impl<'t> Document<'t> {
    /// Parse `text`; on syntax errors, every one the parser could find (see [`syntax_errors`]).
    pub fn parse(text: &'t str) -> Result<Document<'t>, Vec<Diag>> {
        let (root, errors) = DeTable::parse_recoverable(text);
        if errors.is_empty() {
            return Ok(Document { root, pruned: Vec::new() });
        }
        Err(syntax_errors(text))
    }

    /// Deserialize `T`, pushing every error to `diags`. Returns what deserializes once the offending
    /// entries are removed, or `None` if that never succeeds.
    pub fn deserialize<T: DeserializeOwned>(&mut self, diags: &mut Vec<Diag>) -> Option<T> {
        self.collect(&[], diags, |doc| T::deserialize(toml::de::Deserializer::from(doc.root.clone())))
    }

    /// [`Document::deserialize`] of the value at `path` (`"tracker.0.scope"`) alone, as `T`: an
    /// absent value deserializes as an empty table. Errors point into the file as usual.
    pub fn deserialize_at<T: DeserializeOwned>(&mut self, path: &str, diags: &mut Vec<Diag>) -> Option<T> {
        let segs = self.segs(path);
        let fallback = self.locate(path);
        self.collect(&segs, diags, |doc| {
            let value = doc.value_at(&segs).cloned();
            let value = value.unwrap_or_else(|| Spanned::new(fallback.clone(), DeValue::Table(DeTable::new())));
            T::deserialize(toml::de::ValueDeserializer::from(value))
        })
    }

    /// The keys of the table at `path` (none if it is absent or not a table).
    pub fn keys_at(&self, path: &str) -> Vec<String> {
        match self.value_at(&self.segs(path)).map(Spanned::get_ref) {
            Some(DeValue::Table(t)) => t.iter().map(|(k, _)| k.get_ref().to_string()).collect(),
            _ => Vec::new(),
        }
    }

    /// Remove the entry at `path`, which does not belong where it is (reported already), leaving the
    /// rest of its table to be judged as if it were not there.
    pub fn drop_entry(&mut self, path: &str) {
        let segs = self.segs(path);
        remove(self.root.get_mut(), &segs);
    }

    /// Try `attempt` until it succeeds, each time reporting its error and removing the entry at or
    /// below `under` the error is about.
    fn collect<T>(
        &mut self,
        under: &[Seg],
        diags: &mut Vec<Diag>,
        attempt: impl Fn(&Self) -> Result<T, toml::de::Error>,
    ) -> Option<T> {
        for _ in 0..MAX_ERRORS {
            let error = match attempt(self) {
                Ok(value) => return Some(value),
                Err(e) => e,
            };
            let message = error.message();
            let culprit = error.span().and_then(|s| self.culprit(&s, message.starts_with("missing field"), under));
            let Some(node) = culprit else {
                diags.push(diag::from_serde(message, error.span(), "", ""));
                return None;
            };
            let key = human(&node.path);
            let table = human(&node.path[..node.path.len().saturating_sub(1)]);
            diags.push(diag::from_serde(message, error.span(), &key, &table));
            if !remove(self.root.get_mut(), &node.path) {
                return None;
            }
            self.pruned.push(dotted(&node.path));
        }
        None
    }

    /// `path` as steps: a number is an index where the value it steps into is an array.
    fn segs(&self, path: &str) -> Vec<Seg> {
        let mut segs = Vec::new();
        let mut current: Option<&DeValue<'_>> = None;
        for (i, part) in path.split('.').filter(|p| !p.is_empty()).enumerate() {
            let index = matches!(current, Some(DeValue::Array(_))).then(|| part.parse::<usize>().ok()).flatten();
            let seg = match index {
                Some(n) => Seg::Index(n),
                None => Seg::Key(part.to_string()),
            };
            segs.push(seg);
            current = if i == 0 {
                self.root.get_ref().get(part).map(Spanned::get_ref)
            } else {
                self.value_at(&segs).map(Spanned::get_ref)
            };
        }
        segs
    }

    /// The value at `segs`, if there is one.
    fn value_at(&self, segs: &[Seg]) -> Option<&Spanned<DeValue<'t>>> {
        let (Seg::Key(first), rest) = segs.split_first()? else { return None };
        let mut value = self.root.get_ref().get(first.as_str())?;
        for seg in rest {
            value = match (value.get_ref(), seg) {
                (DeValue::Table(t), Seg::Key(k)) => t.get(k.as_str())?,
                (DeValue::Array(a), Seg::Index(i)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// Whether the entry at `path` was removed after an error was reported for it.
    pub fn was_pruned(&self, path: &str) -> bool {
        self.pruned.iter().any(|p| p == path)
    }

    /// Whether anything at or below `path` was removed (so cross-checks over it would mislead).
    pub fn pruned_under(&self, path: &str) -> bool {
        self.pruned.iter().any(|p| p == path || p.strip_prefix(path).is_some_and(|rest| rest.starts_with('.')))
    }

    /// The span of the value at `path`, or of its nearest existing ancestor (for a missing key: the
    /// table it belongs in); the start of the file when nothing on the path exists.
    pub fn locate(&self, path: &str) -> Range<usize> {
        let segs: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('.').collect() };
        (1..=segs.len()).rev().find_map(|n| self.spans(&segs[..n]).map(|(_, value)| value)).unwrap_or(0..0)
    }

    /// The span of the key at `path` (falling back like [`Document::locate`]).
    pub fn locate_key(&self, path: &str) -> Range<usize> {
        let segs: Vec<&str> = path.split('.').collect();
        match self.spans(&segs) {
            Some((Some(key), _)) => key,
            _ => self.locate(path),
        }
    }

    /// Key and value spans of the node at `segs`.
    fn spans(&self, segs: &[&str]) -> Option<(Option<Range<usize>>, Range<usize>)> {
        let (first, rest) = segs.split_first()?;
        let (key, value) = self.root.get_ref().get_key_value(*first)?;
        let mut spans = (Some(key.span()), value.span());
        let mut current = value.get_ref();
        for seg in rest {
            let (k, v) = match current {
                DeValue::Table(t) => t.get_key_value(*seg).map(|(k, v)| (Some(k.span()), v))?,
                DeValue::Array(a) => (None, a.get(seg.parse::<usize>().ok()?)?),
                _ => return None,
            };
            spans = (k, v.span());
            current = v.get_ref();
        }
        Some(spans)
    }

    /// The entry at or below `under` a serde error at `span` is about: for a missing key, the table (or array element)
    /// spanning exactly `span`; otherwise the innermost keyed entry whose key or value holds `span`.
    fn culprit(&self, span: &Range<usize>, missing_key: bool, under: &[Seg]) -> Option<Node> {
        let mut nodes = Vec::new();
        walk_table(self.root.get_ref(), &mut Vec::new(), &mut nodes);
        nodes.retain(|n| n.path.starts_with(under));
        let holds = |r: &Range<usize>| r.start <= span.start && span.end <= r.end;
        if missing_key {
            return nodes.into_iter().rfind(|n| n.value == *span);
        }
        let by_key = nodes.iter().rposition(|n| n.key.as_ref().is_some_and(holds));
        let index = by_key.or_else(|| {
            (0..nodes.len())
                .filter(|&i| nodes[i].key.is_some() && holds(&nodes[i].value))
                .min_by_key(|&i| (nodes[i].value.len(), std::cmp::Reverse(nodes[i].path.len())))
        })?;
        Some(nodes.swap_remove(index))
    }
}

/// Every syntax error of `text`, each once and where it really is.
///
/// The parser's recovery cascades: an array or inline table missing its closing bracket swallows the
/// rest of the file (every following line is then "missing comma between array elements"), and an
/// array-of-tables header missing a `]` makes every later sub-table a "duplicate key". So the errors
/// are taken one at a time, in file order: a missing closing bracket is reported at the end of the
/// last value before it (the line where the `]` belongs, not the next key, which may be many comment
/// lines below), the bracket is put in, and the text parsed again from there. Any other error is
/// reported as is (the first of its line: recovery tends to trip again on the rest of a broken line).
fn syntax_errors(text: &str) -> Vec<Diag> {
    let mut current = text.to_string();
    // Where brackets were put in, in `current`'s offsets (ascending).
    let mut inserted: Vec<usize> = Vec::new();
    let original = |offset: usize, inserted: &[usize]| offset - inserted.iter().filter(|&&q| q < offset).count();
    let mut diags = Vec::new();
    let mut cursor = 0;
    for _ in 0..MAX_ERRORS {
        let (_, mut errors) = DeTable::parse_recoverable(&current);
        errors.retain(|e| e.span().is_none_or(|s| s.start >= cursor));
        let Some(first) = errors.iter().min_by_key(|e| e.span().map_or(0, |s| s.start)) else { break };
        let span = first.span();
        match span.as_ref().and_then(|s| missing_bracket(&current, first.message(), s.start)) {
            Some((at, bracket, what)) => {
                let at_original = original(at, &inserted);
                diags.push(Diag::new(
                    Some(at_original..at_original),
                    format!("TOML syntax: unclosed {what}, expected `{bracket}`"),
                    format!("close the {what} with `{bracket}` here: the next line cannot be part of it"),
                ));
                current.insert(at, bracket);
                inserted.push(at);
                cursor = at + 1;
            }
            None => {
                let span = span.map(|s| original(s.start, &inserted)..original(s.end, &inserted));
                let line_end =
                    span.as_ref().map(|s| text[s.start..].find('\n').map_or(text.len(), |i| s.start + i + 1));
                diags.push(syntax(first.message(), span));
                // The rest of this line is left alone; with no position there is nothing more to learn.
                let Some(line_end) = line_end else { break };
                cursor = line_end + inserted.len();
            }
        }
    }
    diags
}

/// For an error at `at` that is a missing closing bracket: where the bracket belongs, which one, and
/// what it closes.
fn missing_bracket(text: &str, message: &str, at: usize) -> Option<(usize, char, &'static str)> {
    let kind = message.split(',').next().unwrap_or(message);
    match kind {
        // `[name` or `[[name]`: the parser stops where the `]` belongs.
        "unclosed table" | "unclosed array table" => Some((at, ']', "table header")),
        // Reached the end of the file inside an array or inline table.
        "unclosed array" => Some((content_end(text, at), ']', "array")),
        "unclosed inline table" => Some((content_end(text, at), '}', "inline table")),
        // A new key or [table] on a line of its own inside an array or inline table: the bracket
        // before it is missing (a missing comma between two values is an error at the second value).
        "missing comma between array elements" if starts_entry(text, at) => Some((content_end(text, at), ']', "array")),
        "missing comma between key-value pairs" | "missing key for inline table element" if starts_entry(text, at) => {
            Some((content_end(text, at), '}', "inline table"))
        }
        _ => None,
    }
}

/// Whether `at` is the first thing on its line and the line is a `key = ...` or a `[table]` header.
fn starts_entry(text: &str, at: usize) -> bool {
    let Some(before) = text.get(..at) else { return false };
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    if !before[line_start..].trim().is_empty() {
        return false;
    }
    let rest = &text[at..];
    let line = code(&rest[..rest.find('\n').unwrap_or(rest.len())]).trim();
    let is_key = |k: &str| {
        let k = k.trim();
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"' ".contains(c))
    };
    match line.strip_prefix('[') {
        Some(header) => header
            .strip_suffix(']')
            .map(|h| h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h))
            .is_some_and(|name| is_key(name) && name.chars().any(|c| !c.is_ascii_digit() && c != ' ')),
        None => line.split_once('=').is_some_and(|(key, _)| is_key(key)),
    }
}

/// The offset just after the last value before `at`: blank lines and comments skipped.
fn content_end(text: &str, at: usize) -> usize {
    let before = text.get(..at).unwrap_or(text);
    let mut end = before.len();
    loop {
        let line_start = before[..end].rfind('\n').map_or(0, |i| i + 1);
        let content = code(&before[line_start..end]).trim_end();
        if !content.is_empty() {
            return line_start + content.len();
        }
        if line_start == 0 {
            return at;
        }
        end = line_start - 1;
    }
}

/// A line without its comment (a `#` outside a string).
fn code(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' => return &line[..i],
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    line
}

/// A TOML syntax error as a problem.
fn syntax(message: &str, span: Option<Range<usize>>) -> Diag {
    let help = if message.contains("duplicate key") {
        "each key may appear once per table: remove or rename one of them"
    } else {
        "fix the TOML syntax (strings need quotes, tables are written [name], arrays of tables [[name]]; see https://toml.io)"
    };
    Diag::new(span, format!("TOML syntax: {message}"), help)
}

/// Every entry and array element below `table`, parents before children.
fn walk_table(table: &DeTable<'_>, path: &mut Vec<Seg>, out: &mut Vec<Node>) {
    for (key, value) in table.iter() {
        path.push(Seg::Key(key.get_ref().to_string()));
        out.push(Node { path: path.clone(), key: Some(key.span()), value: value.span() });
        walk_value(value.get_ref(), path, out);
        path.pop();
    }
}

fn walk_value(value: &DeValue<'_>, path: &mut Vec<Seg>, out: &mut Vec<Node>) {
    match value {
        DeValue::Table(t) => walk_table(t, path, out),
        DeValue::Array(a) => {
            for (i, element) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                out.push(Node { path: path.clone(), key: None, value: element.span() });
                walk_value(element.get_ref(), path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Remove the entry or array element at `path` below `table`.
fn remove(table: &mut DeTable<'_>, path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => table.remove(k.as_str()).is_some(),
        [Seg::Key(k), rest @ ..] => table.get_mut(k.as_str()).is_some_and(|v| remove_in(v.get_mut(), rest)),
        _ => false,
    }
}

fn remove_in(value: &mut DeValue<'_>, path: &[Seg]) -> bool {
    match (value, path) {
        (DeValue::Table(t), _) => remove(t, path),
        (DeValue::Array(a), [Seg::Index(i)]) if *i < a.len() => {
            *a = a.iter().enumerate().filter(|(j, _)| j != i).map(|(_, v)| v.clone()).collect();
            true
        }
        (DeValue::Array(a), [Seg::Index(i), rest @ ..]) => a.get_mut(*i).is_some_and(|v| remove_in(v.get_mut(), rest)),
        _ => false,
    }
}

/// `tracker.1.auth`: the lookup form of a path.
fn dotted(path: &[Seg]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect();
    parts.join(".")
}

/// `tracker.auth`: the form a human reads (array indices left out; the line number says which).
fn human(path: &[Seg]) -> String {
    let keys: Vec<&str> = path
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    keys.join(".")
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Root {
        #[serde(default)]
        item: Vec<Item>,
        #[serde(default)]
        limit: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        id: String,
        #[serde(default)]
        size: Option<u32>,
    }

    fn collect(text: &str) -> (Option<Root>, Vec<Diag>, Document<'_>) {
        let mut doc = Document::parse(text).unwrap();
        let mut diags = Vec::new();
        let root = doc.deserialize::<Root>(&mut diags);
        (root, diags, doc)
    }

    #[test]
    fn every_structural_error_is_collected_and_the_rest_survives() {
        let text =
            "limit = \"x\"\ntypo = 1\n[[item]]\nid = \"a\"\nsize = -1\n[[item]]\nsize = 2\n[[item]]\nid = \"c\"\n";
        let (root, diags, doc) = collect(text);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(diags.len(), 4, "{messages:?}");
        assert!(messages.contains(&"unknown key `typo` at the top level"), "{messages:?}");
        assert!(messages.contains(&"missing required key `id` in `item`"), "{messages:?}");
        let root = root.unwrap();
        assert_eq!(root.item.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!((root.limit, root.item[0].size), (None, None), "rejected values are gone");
        assert!(doc.was_pruned("limit") && doc.was_pruned("item.0.size"));
        assert!(doc.pruned_under("item") && !doc.pruned_under("ite"));
    }

    #[test]
    fn spans_are_found_by_path() {
        let text = "[[item]]\nid = \"a\"\n[[item]]\nid = \"b\"\nsize = 3\n";
        let (_, diags, doc) = collect(text);
        assert!(diags.is_empty());
        assert_eq!(&text[doc.locate("item.1.size")], "3");
        assert_eq!(&text[doc.locate_key("item.1.size")], "size");
        // A missing key falls back to its table: the `[[item]]` header.
        assert_eq!(doc.locate("item.0.size").start, 0);
        assert_eq!(doc.locate("nothing"), 0..0);
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let text = "a = \nb = = 1\n";
        let errors = Document::parse(text).err().unwrap();
        let lines: Vec<usize> = errors.iter().map(|d| diag::line_col(text, d.span.clone().unwrap().start).0).collect();
        assert_eq!(lines, [1, 2]);
        assert!(errors.iter().all(|d| d.message.starts_with("TOML syntax:")));
    }

    #[test]
    fn a_missing_bracket_is_reported_after_the_last_value_once() {
        let text = "a = [\"x # not a comment\", 'y'  # a comment\n\n# more\nb = 1\nc = 2\n[t]\nd = [1, 2\n";
        let errors = Document::parse(text).err().unwrap();
        let at: Vec<(usize, usize)> =
            errors.iter().map(|d| diag::line_col(text, d.span.clone().unwrap().start)).collect();
        assert_eq!(at, [(1, 30), (7, 10)], "{errors:#?}");
        assert!(errors.iter().all(|d| d.message == "TOML syntax: unclosed array, expected `]`"), "{errors:#?}");
        // An array of arrays missing a comma between rows is a missing comma, not a missing bracket.
        let text = "m = [\n  [1, 2]\n  [3, 4],\n]\n";
        let errors = Document::parse(text).err().unwrap();
        assert!(errors[0].message.contains("missing comma"), "{errors:#?}");
    }
}
