//! CSV: one row per finding, for spreadsheets; a finding about a report of a storm names the storm
//! (`storm`: the id the other formats list the storm under).
//!
//! Ticket text is written so that a spreadsheet shows it as text: a cell that begins with `=`, `+`,
//! `-`, `@`, a tab or a carriage return would be run as a formula (CSV injection), so it gets a leading
//! `'`, as OWASP recommends.

use std::borrow::Cow;

use super::{RenderError, Report};

/// `value`, made inert for a spreadsheet.
fn cell(value: &str) -> Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// One row per finding, read back and written one at a time.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record([
        "kind",
        "action",
        "tracker",
        "key",
        "url",
        "title",
        "from",
        "to",
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
        "decided_by",
        "reasons_for",
        "reasons_for_staying",
        "details",
        "waits",
        "storm",
    ])?;
    let opt = |v: Option<u8>| v.map(|x| x.to_string()).unwrap_or_default();
    for f in report.findings.rows() {
        let f = f?;
        let t = f.target.as_ref();
        let row = [
            f.kind.as_str(),
            f.action.as_str(),
            &f.tracker,
            &f.key,
            &f.url,
            &f.title,
            &f.from,
            &f.to,
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
            f.reasons.decisive.as_deref().unwrap_or(""),
            &f.reasons.for_proposed.join(" | "),
            &f.reasons.for_current.join(" | "),
            &f.reasons.details.join(" | "),
            if f.waits { "yes" } else { "" },
            f.storm.as_deref().unwrap_or(""),
        ];
        w.write_record(row.iter().map(|v| cell(v).into_owned()))?;
    }
    w.flush().map_err(RenderError::Write)
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_are_written_as_text() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(cell(formula), format!("'{formula}"));
        }
        for text in ["Reset my password", "0.950", "", "a=b", "SHOP-1"] {
            assert_eq!(cell(text), text);
        }
    }
}
