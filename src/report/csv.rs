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

/// The columns, in order.
const HEADER: [&str; 27] = [
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
];

/// One cell as written: its text made inert ([`cell`]), as the bytes the CSV writer takes.
struct Cell<'a>(Cow<'a, str>);

impl AsRef<[u8]> for Cell<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// One row per finding, read back and rendered on every core, written in order.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let mut header = Vec::new();
    record(&mut header, HEADER)?;
    out.write_all(&header).map_err(RenderError::Write)?;
    let opt = |v: Option<u8>| v.map(|x| x.to_string()).unwrap_or_default();
    report.findings.write_rows(out, |f, bytes| {
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
            f.filed_as.as_str(),
            f.class.as_str(),
            f.item_kind.as_str(),
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
        record(bytes, row)
    })
}

/// One CSV record of `cells` (each made inert) appended to `out`.
fn record<'a>(out: &mut Vec<u8>, cells: impl IntoIterator<Item = &'a str>) -> Result<(), RenderError> {
    let mut w = ::csv::WriterBuilder::new().buffer_capacity(4096).from_writer(out);
    w.write_record(cells.into_iter().map(|v| Cell(cell(v))))?;
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
