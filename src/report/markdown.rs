//! Markdown: for terminals and pull requests.

use std::fmt::Write;

use super::{Reasons, RenderError, Report};

/// Escape text for a Markdown table cell (ticket text is hostile input: no HTML, no table breaks).
fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Of a title, a findings row shows at most this many characters (the JSON and CSV keep it whole).
const TITLE_CHARS: usize = 80;

/// `s` cut to `max` characters, an ellipsis marking the cut.
fn shortened(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some(_) => {
            let keep: String = s.chars().take(max.saturating_sub(1)).collect();
            format!("{}…", keep.trim_end()).into()
        }
    }
}

/// The why of a finding: what decided, then the strongest evidence for the proposed place and for
/// staying, each side labelled (no HTML: the Markdown reads in a terminal too).
fn why(r: &Reasons) -> String {
    let mut parts = Vec::new();
    if let Some(d) = &r.decisive {
        parts.push(format!("**{}**", cell(d)));
    }
    let side = |label: &str, reasons: &[String]| {
        let shown: Vec<String> = reasons.iter().take(2).map(|r| cell(r)).collect();
        let more = if reasons.len() > 2 { format!(" (+{} more)", reasons.len() - 2) } else { String::new() };
        format!("{label}: {}{more}", shown.join("; "))
    };
    if !r.for_proposed.is_empty() {
        parts.push(side("for", &r.for_proposed));
    }
    if !r.for_current.is_empty() {
        parts.push(side("for staying", &r.for_current));
    }
    parts.join(" · ")
}

/// The summary, trackers and storms, then one row per finding, read back and written one at a time.
pub fn write(r: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let mut s = String::new();
    let t = &r.totals;
    let _ = writeln!(s, "# twotrack audit\n");
    let _ = writeln!(s, "Generated {} (dry run: nothing was written to any tracker).\n", r.generated_at);
    let _ = writeln!(
        s,
        "**{}** open items: {} Value, {} Work. **{}** misfiled ({} Work in a product backlog, {} Value in a service queue): \
         {} to move, {} to review. {} misrouted, {} misprioritised, {} exempt. {} parked correction(s) \
         (`twotrack outbox list --state parked`).\n",
        t.open_items,
        t.value,
        t.work,
        t.misfiled,
        t.work_in_product,
        t.value_in_service,
        t.moves,
        t.reviews,
        t.misrouted,
        t.misprioritised,
        t.exempt,
        t.parked
    );
    if let Some(line) = t.waiting_line() {
        let _ = writeln!(s, "{line}: `apply` makes the most confident first; the rest are marked *waits*.\n");
    }
    for note in &r.notes {
        let _ = writeln!(s, "> **Note:** {}\n", cell(note));
    }
    let _ = writeln!(s, "## Trackers\n");
    let _ = writeln!(s, "| tracker | kind | role | open | value | work | misfiled | share | move | review | exempt |");
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for tr in &r.trackers {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0}% | {} | {} | {} |",
            cell(&tr.name),
            tr.kind,
            tr.role,
            tr.open_items,
            tr.value,
            tr.work,
            tr.misfiled,
            tr.misfiled_share * 100.0,
            tr.moves,
            tr.reviews,
            tr.exempt
        );
    }
    storms(&mut s, r);
    let _ = writeln!(s, "\n## Findings ({})\n", r.findings.len());
    if r.findings.is_empty() {
        let _ = writeln!(s, "Nothing is misfiled. Both tracks are clean.");
        return out.write_all(s.as_bytes()).map_err(RenderError::Write);
    }
    let _ = writeln!(s, "| action | finding | item | title | from -> to | belongs | conf. | target | why |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---:|---|---|");
    for f in r.findings.rows() {
        let f = f?;
        out.write_all(s.as_bytes()).map_err(RenderError::Write)?;
        s.clear();
        let item = if f.url.is_empty() { cell(&f.key) } else { format!("[{}]({})", cell(&f.key), f.url) };
        let target = f
            .target
            .as_ref()
            .map(|t| {
                let mut parts = vec![format!("{} / {} / {}", cell(&t.tracker), cell(&t.container), cell(&t.item_type))];
                if let Some(q) = &t.queue {
                    parts.push(format!("queue {}", cell(q)));
                }
                if let Some(p) = &t.priority {
                    parts.push(format!("priority {}", cell(p)));
                }
                parts.join(", ")
            })
            .unwrap_or_default();
        let why = why(&f.reasons);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} -> {} | {} {} | {:.2} | {} | {} |",
            if f.waits { format!("{} (waits)", f.action) } else { f.action.to_string() },
            f.kind,
            item,
            cell(&shortened(&f.title, TITLE_CHARS)),
            cell(&f.from),
            cell(&f.to),
            f.class,
            f.item_kind,
            f.confidence,
            target,
            why
        );
    }
    out.write_all(s.as_bytes()).map_err(RenderError::Write)
}

/// The storms: one block each, its headline, span, where the reports are, the parent and priority
/// they would be gathered under, the arrival curve and the reports.
fn storms(s: &mut String, r: &Report) {
    if r.storms.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Storms ({})\n", r.storms.len());
    let _ = writeln!(s, "Many reports of one event: each would become one incident with its reports attached.\n");
    for st in &r.storms {
        let _ = writeln!(s, "### {}: {}\n", cell(&st.id), cell(&st.headline));
        let _ = writeln!(
            s,
            "- **Span:** {} to {} ({}); the site's everyday rate of such reports predicts {:.2} in that time",
            st.first,
            st.last,
            st.span(),
            st.expected
        );
        let _ = writeln!(s, "- **Filed in:** {}", cell(&st.trackers()));
        let _ = writeln!(s, "- **Proposed parent:** {}", cell(st.parent_text()));
        let _ = writeln!(
            s,
            "- **Priority:** {} (impact {} x urgency {}, reach {}): {}",
            cell(&st.priority_name),
            st.impact,
            st.urgency,
            st.reach,
            st.derivation.iter().map(|d| cell(d)).collect::<Vec<_>>().join("; ")
        );
        let _ = writeln!(
            s,
            "- **Arrivals** (12 equal parts of the span): `{}` {:?}\n",
            sparkline(&st.arrivals),
            st.arrivals
        );
        let _ = writeln!(s, "| report | filed as | created | reporter | title |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for m in &st.members {
            let item = if m.url.is_empty() { cell(&m.key) } else { format!("[{}]({})", cell(&m.key), m.url) };
            let _ = writeln!(
                s,
                "| {item} | {} / {} | {} | {} | {} |",
                cell(&m.tracker),
                cell(&m.filed_type),
                m.created,
                cell(m.reporter.as_deref().unwrap_or("")),
                cell(&shortened(&m.title, TITLE_CHARS))
            );
        }
        let _ = writeln!(s);
    }
}

/// Counts as block characters, the largest a full block.
fn sparkline(counts: &[u64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    counts.iter().map(|&c| if c == 0 { ' ' } else { BLOCKS[((c * 7).div_ceil(max)) as usize] }).collect()
}

#[cfg(test)]
mod tests {
    use super::{shortened, sparkline};

    #[test]
    fn a_sparkline_scales_to_the_largest_count() {
        assert_eq!(sparkline(&[0, 1, 7, 14]), " ▂▅█");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn long_titles_are_cut_with_an_ellipsis() {
        assert_eq!(shortened("Reset my password", 80), "Reset my password");
        assert_eq!(shortened(&"é".repeat(80), 80), "é".repeat(80));
        let long = "é".repeat(81);
        let cut = shortened(&long, 80);
        assert_eq!(cut.chars().count(), 80);
        assert!(cut.ends_with("é…"));
        assert_eq!(shortened("The checkout is down for everyone", 14), "The checkout…");
    }
}
