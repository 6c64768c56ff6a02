//! Items as JSON Lines, so users can feed their own backlog to the simulators (and keep generated ones).

use std::io::{BufRead, Write};

use super::model::GeneratedItem;

/// Reading or writing items failed. Errors about the input name its 1-based line number.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("line {line}: cannot read: {source}")]
    Read {
        line: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line}: not a valid item: {source}")]
    Parse {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: {reason}")]
    Invalid { line: usize, reason: String },
    #[error("cannot write items: {0}")]
    Write(#[source] std::io::Error),
    #[error("cannot serialize an item: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// Reads one [`GeneratedItem`] per line, skipping blank lines, and checks that each item's truth is consistent.
pub fn load_jsonl(reader: impl BufRead) -> Result<Vec<GeneratedItem>, GenError> {
    let mut items = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|source| GenError::Read { line: number, source })?;
        if line.trim().is_empty() {
            continue;
        }
        let item: GeneratedItem =
            serde_json::from_str(&line).map_err(|source| GenError::Parse { line: number, source })?;
        check(&item).map_err(|reason| GenError::Invalid { line: number, reason })?;
        items.push(item);
    }
    Ok(items)
}

/// Writes one JSON object per line, in order.
pub fn write_jsonl(mut writer: impl Write, items: &[GeneratedItem]) -> Result<(), GenError> {
    for item in items {
        serde_json::to_writer(&mut writer, item).map_err(GenError::Serialize)?;
        writer.write_all(b"\n").map_err(GenError::Write)?;
    }
    writer.flush().map_err(GenError::Write)
}

const KINDS: [(&str, &str); 4] = [("feature", "value"), ("defect", "value"), ("incident", "work"), ("request", "work")];
const QUEUES: [&str; 6] = ["database", "access", "network", "infrastructure", "end-user", "service-desk"];

/// The rules a hand-written item must follow to be usable as ground truth.
fn check(item: &GeneratedItem) -> Result<(), String> {
    let truth = &item.truth;
    let class = KINDS
        .iter()
        .find(|(kind, _)| *kind == truth.kind)
        .map(|(_, class)| *class)
        .ok_or_else(|| format!("truth.kind {:?} is not feature, defect, incident or request", truth.kind))?;
    if truth.class != class {
        return Err(format!(
            "truth.class {:?} does not match truth.kind {:?} (expected {class:?})",
            truth.class, truth.kind
        ));
    }
    let levels_ok = |level: Option<u8>| level.is_none_or(|l| (1..=3).contains(&l));
    if class == "work" {
        match truth.queue.as_deref() {
            Some(queue) if QUEUES.contains(&queue) => {}
            other => return Err(format!("work needs truth.queue, one of {QUEUES:?}; got {other:?}")),
        }
        if truth.impact.is_none() || truth.urgency.is_none() {
            return Err("work needs truth.impact and truth.urgency (1..=3)".into());
        }
    } else if truth.queue.is_some() || truth.impact.is_some() || truth.urgency.is_some() {
        return Err("value has no truth.queue, truth.impact or truth.urgency".into());
    }
    if ![truth.impact, truth.urgency, item.impact, item.urgency].into_iter().all(levels_ok) {
        return Err("impact and urgency must be 1, 2 or 3".into());
    }
    if item.summary.trim().is_empty() {
        return Err("summary is empty".into());
    }
    if item.updated < item.created {
        return Err("updated is before created".into());
    }
    Ok(())
}
