//! Rich-text bodies: plain text (API v2, wiki markup) and the Atlassian Document Format (API v3).
//!
//! A body is stored in the form it was written in and converted when read through the other API
//! version, so a client always reads back exactly what it wrote through the same version.

use std::borrow::Cow;

use serde_json::{Value, json};

/// A description or comment body as stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Written through v2 (or loaded from generated data).
    Text(String),
    /// Written through v3: a validated ADF `doc` node.
    Adf(Value),
}

impl Body {
    /// The plain-text (wiki markup) rendering served by API v2.
    pub fn to_text(&self) -> String {
        match self {
            Body::Text(text) => text.clone(),
            Body::Adf(doc) => adf_to_text(doc),
        }
    }

    /// The ADF rendering served by API v3.
    pub fn to_adf(&self) -> Value {
        match self {
            Body::Text(text) => text_to_adf(text),
            Body::Adf(doc) => doc.clone(),
        }
    }
}

/// Whether `value` is an ADF document root: `{"type":"doc","version":1,"content":[...]}`.
pub fn is_adf_doc(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("doc")
        && value.get("version").and_then(Value::as_u64) == Some(1)
        && value.get("content").is_some_and(Value::is_array)
}

/// Converts plain text to ADF: blank lines separate paragraphs, single newlines become hard breaks.
pub fn text_to_adf(text: &str) -> Value {
    let text = normalize(text);
    let paragraphs: Vec<Value> = paragraphs(&text)
        .map(|inline| {
            let inline: Vec<Value> = inline
                .map(|i| match i {
                    Inline::Text(line) => json!({"type": "text", "text": line}),
                    Inline::HardBreak => json!({"type": "hardBreak"}),
                })
                .collect();
            json!({"type": "paragraph", "content": inline})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// A piece of a paragraph of plain text, as ADF has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inline<'t> {
    Text(&'t str),
    HardBreak,
}

/// Plain text with Windows line ends read as Unix ones (borrowed when it has none).
pub fn normalize(text: &str) -> Cow<'_, str> {
    if text.contains("\r\n") { Cow::Owned(text.replace("\r\n", "\n")) } else { Cow::Borrowed(text) }
}

/// The paragraphs of [`normalize`]d plain text as ADF reads it: blank lines separate paragraphs, a single
/// newline is a hard break, an empty line adds no text node.
pub fn paragraphs(text: &str) -> impl Iterator<Item = impl Iterator<Item = Inline<'_>>> {
    text.split("\n\n").filter(|block| !block.trim().is_empty()).map(|block| {
        block.trim_matches('\n').split('\n').enumerate().flat_map(|(i, line)| {
            let hard_break = (i > 0).then_some(Inline::HardBreak);
            hard_break.into_iter().chain((!line.is_empty()).then_some(Inline::Text(line)))
        })
    })
}

/// Renders ADF as Jira wiki markup, the way API v2 shows v3-authored rich text.
pub fn adf_to_text(doc: &Value) -> String {
    blocks_to_text(children(doc), "\n\n")
}

fn children(node: &Value) -> &[Value] {
    node.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn blocks_to_text(nodes: &[Value], separator: &str) -> String {
    nodes.iter().map(block_to_text).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(separator)
}

fn block_to_text(node: &Value) -> String {
    match node_type(node) {
        "paragraph" => inline_to_text(children(node)),
        "heading" => {
            let level = node.pointer("/attrs/level").and_then(Value::as_u64).unwrap_or(1);
            format!("h{level}. {}", inline_to_text(children(node)))
        }
        "bulletList" => list_to_text(node, "*"),
        "orderedList" => list_to_text(node, "#"),
        "codeBlock" => format!("{{code}}\n{}\n{{code}}", inline_to_text(children(node))),
        "blockquote" => format!("{{quote}}\n{}\n{{quote}}", blocks_to_text(children(node), "\n\n")),
        "rule" => "----".to_owned(),
        "panel" => format!("{{panel}}\n{}\n{{panel}}", blocks_to_text(children(node), "\n\n")),
        "text" | "hardBreak" | "mention" | "emoji" | "inlineCard" => inline_to_text(std::slice::from_ref(node)),
        _ => blocks_to_text(children(node), "\n"),
    }
}

fn list_to_text(list: &Value, bullet: &str) -> String {
    children(list)
        .iter()
        .map(|item| format!("{bullet} {}", blocks_to_text(children(item), "\n")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn inline_to_text(nodes: &[Value]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node_type(node) {
            "text" => out.push_str(&marked_text(node)),
            "hardBreak" => out.push('\n'),
            "mention" => out.push_str(node.pointer("/attrs/text").and_then(Value::as_str).unwrap_or("")),
            "emoji" => out.push_str(node.pointer("/attrs/shortName").and_then(Value::as_str).unwrap_or("")),
            "inlineCard" => out.push_str(node.pointer("/attrs/url").and_then(Value::as_str).unwrap_or("")),
            _ => out.push_str(&inline_to_text(children(node))),
        }
    }
    out
}

fn marked_text(node: &Value) -> String {
    let mut text = node.get("text").and_then(Value::as_str).unwrap_or("").to_owned();
    for mark in node.get("marks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
        text = match node_type(mark) {
            "strong" => format!("*{text}*"),
            "em" => format!("_{text}_"),
            "strike" => format!("-{text}-"),
            "code" => format!("{{{{{text}}}}}"),
            "link" => match mark.pointer("/attrs/href").and_then(Value::as_str) {
                Some(href) => format!("[{text}|{href}]"),
                None => text,
            },
            _ => text,
        };
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_through_adf() {
        let text = "First line\nsecond line\n\nSecond paragraph";
        let adf = text_to_adf(text);
        assert!(is_adf_doc(&adf));
        assert_eq!(adf["content"].as_array().map(Vec::len), Some(2));
        assert_eq!(adf_to_text(&adf), text);
    }

    #[test]
    fn empty_text_is_an_empty_doc() {
        assert_eq!(text_to_adf(""), json!({"type": "doc", "version": 1, "content": []}));
    }

    #[test]
    fn marks_and_lists_render_as_wiki_markup() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "bold", "marks": [{"type": "strong"}]}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "site", "marks": [{"type": "link", "attrs": {"href": "https://x.test"}}]}]}]}
            ]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "panic!()"}]}
        ]});
        assert_eq!(adf_to_text(&doc), "h2. Steps\n\n* *bold*\n* [site|https://x.test]\n\n{code}\npanic!()\n{code}");
    }
}
