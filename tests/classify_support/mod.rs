//! The hand-labelled tickets as items, shared by the classifier's tests and its benchmark
//! (`#[path]`-included by both).

use std::path::Path;

use twotrack_api::Item;

/// Every ticket of the labelled and hold-out sets as an item (only what the classifier reads).
pub fn hand_labelled() -> Vec<Item> {
    let mut out = Vec::new();
    for file in ["labelled.jsonl", "holdout.jsonl"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), n + 1));
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
            let mut item = Item::new(s("tracker"), s("id"), s("summary"));
            item.filed_type = s("type");
            item.description = s("description");
            item.labels = v
                .get("labels")
                .and_then(|l| l.as_array())
                .map(|l| l.iter().filter_map(|x| x.as_str().map(String::from)).collect())
                .unwrap_or_default();
            out.push(item);
        }
    }
    out
}
