//! CSV: one row per finding, for spreadsheets.

use super::{RenderError, Report};

pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "action",
        "tracker",
        "key",
        "url",
        "title",
        "filed_as",
        "class",
        "item_kind",
        "confidence",
        "queue",
        "impact",
        "urgency",
        "priority",
        "target_tracker",
        "target_container",
        "target_type",
        "target_queue",
        "target_priority",
        "reasons",
    ])?;
    let opt = |v: Option<u8>| v.map(|x| x.to_string()).unwrap_or_default();
    for f in &report.findings {
        let t = f.target.as_ref();
        w.write_record([
            f.kind.as_str(),
            &f.action,
            &f.tracker,
            &f.key,
            &f.url,
            &f.title,
            &f.filed_as,
            &f.class,
            &f.item_kind,
            &format!("{:.3}", f.confidence),
            f.queue.as_deref().unwrap_or(""),
            &opt(f.impact),
            &opt(f.urgency),
            &opt(f.priority),
            t.map_or("", |t| &t.tracker),
            t.map_or("", |t| &t.container),
            t.map_or("", |t| &t.item_type),
            t.and_then(|t| t.queue.as_deref()).unwrap_or(""),
            t.and_then(|t| t.priority.as_deref()).unwrap_or(""),
            &f.reasons.join(" | "),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| ::csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8(bytes)?)
}
