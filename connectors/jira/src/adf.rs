//! Atlassian Document Format (Jira v3 rich text) to and from plain text.
//!
//! Reading flattens a document to text: blocks (paragraphs, headings, list items, code blocks, table rows)
//! become lines, separated by a blank line between top-level blocks; `hardBreak` is a newline; mentions,
//! emoji, dates and cards contribute their visible text. Writing turns blank-line-separated paragraphs into
//! ADF paragraphs, with single newlines as `hardBreak`s.

use serde_json::{Value, json};

/// The plain text of an ADF document (or of any ADF node).
pub fn to_text(doc: &Value) -> String {
    let mut blocks = Vec::new();
    for node in children(doc) {
        let text = block_text(node);
        if !text.trim().is_empty() {
            blocks.push(text.trim_end().to_string());
        }
    }
    if blocks.is_empty() {
        // A bare inline node or a document without blocks.
        return inline_text(doc).trim().to_string();
    }
    blocks.join("\n\n")
}

/// An ADF document for plain text.
pub fn from_text(text: &str) -> Value {
    let normalized = text.replace("\r\n", "\n");
    let paragraphs: Vec<Value> = normalized
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .map(|paragraph| {
            let mut content = Vec::new();
            for (i, line) in paragraph.split('\n').enumerate() {
                if i > 0 {
                    content.push(json!({"type": "hardBreak"}));
                }
                if !line.is_empty() {
                    content.push(json!({"type": "text", "text": line}));
                }
            }
            json!({"type": "paragraph", "content": content})
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

fn children(node: &Value) -> &[Value] {
    node.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The text of a block node, lines joined with `\n`.
fn block_text(node: &Value) -> String {
    match node_type(node) {
        "bulletList" => list_text(node, |_| "- ".to_string()),
        "orderedList" => {
            let start = node.pointer("/attrs/order").and_then(Value::as_u64).unwrap_or(1);
            list_text(node, |i| format!("{}. ", start + i as u64))
        }
        "table" => children(node)
            .iter()
            .map(|row| children(row).iter().map(|cell| block_lines(cell).join(" ")).collect::<Vec<_>>().join(" | "))
            .collect::<Vec<_>>()
            .join("\n"),
        "rule" => "---".to_string(),
        "blockquote" | "panel" | "expand" | "nestedExpand" | "layoutSection" | "layoutColumn" | "listItem"
        | "tableCell" | "tableHeader" | "doc" => block_lines(node).join("\n"),
        _ => inline_text(node),
    }
}

/// The lines of a container's block children.
fn block_lines(node: &Value) -> Vec<String> {
    children(node).iter().map(block_text).filter(|t| !t.is_empty()).collect()
}

fn list_text(node: &Value, marker: impl Fn(usize) -> String) -> String {
    children(node)
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let text = block_lines(item).join("\n");
            let indented = text.replace('\n', "\n  ");
            format!("{}{indented}", marker(i))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of inline content (a paragraph, heading or code block's children, or an inline node).
fn inline_text(node: &Value) -> String {
    let attr = |name: &str| node.pointer(&format!("/attrs/{name}")).and_then(Value::as_str).map(str::to_string);
    match node_type(node) {
        "text" => node.get("text").and_then(Value::as_str).unwrap_or("").to_string(),
        "hardBreak" => "\n".to_string(),
        "mention" => attr("text").unwrap_or_default(),
        "emoji" => attr("text").or_else(|| attr("shortName")).unwrap_or_default(),
        "inlineCard" | "blockCard" | "embedCard" => attr("url").unwrap_or_default(),
        "date" => attr("timestamp")
            .and_then(|ms| ms.parse::<i64>().ok())
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        "status" => attr("text").unwrap_or_default(),
        _ => children(node).iter().map(inline_text).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_reads_as_its_text() {
        let doc = json!({"type":"doc","version":1,"content":[{"type":"paragraph",
            "content":[{"type":"text","text":"Order entry fails when selecting supplier."}]}]});
        assert_eq!(to_text(&doc), "Order entry fails when selecting supplier.");
    }

    #[test]
    fn blocks_lists_and_inline_nodes_are_flattened() {
        let doc = json!({"type":"doc","version":1,"content":[
            {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Steps"}]},
            {"type":"orderedList","content":[
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"Open "},{"type":"text","text":"cart","marks":[{"type":"strong"}]}]}]},
                {"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"Pay"}]}]}]},
            {"type":"paragraph","content":[{"type":"mention","attrs":{"id":"1","text":"@Ann"}},{"type":"text","text":" line one"},{"type":"hardBreak"},{"type":"text","text":"line two"}]},
            {"type":"codeBlock","content":[{"type":"text","text":"at TaxCalculator.java:42"}]},
            {"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"emoji","attrs":{"shortName":":smile:","text":"😄"}}]}]}]}
        ]});
        assert_eq!(
            to_text(&doc),
            "Steps\n\n1. Open cart\n2. Pay\n\n@Ann line one\nline two\n\nat TaxCalculator.java:42\n\n- 😄"
        );
    }

    #[test]
    fn plain_text_round_trips_through_adf() {
        for text in ["one line", "para one\nsecond line\n\npara two", "", "a\n\n\n\nb"] {
            let doc = from_text(text);
            assert_eq!(doc["type"], "doc");
            assert_eq!(doc["version"], 1);
            let expected = if text == "a\n\n\n\nb" { "a\n\nb" } else { text };
            assert_eq!(to_text(&doc), expected, "{doc}");
        }
        let doc = from_text("x\ny");
        assert_eq!(doc["content"][0]["content"][1], json!({"type":"hardBreak"}));
    }

    #[test]
    fn tables_become_rows_of_cells() {
        let cell =
            |t: &str| json!({"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":t}]}]});
        let doc = json!({"type":"doc","version":1,"content":[{"type":"table","content":[
            {"type":"tableRow","content":[cell("a"),cell("b")]},{"type":"tableRow","content":[cell("1"),cell("2")]}]}]});
        assert_eq!(to_text(&doc), "a | b\n1 | 2");
    }
}
