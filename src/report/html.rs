//! HTML: one self-contained file. No network, no external assets; readable without JavaScript (a few
//! lines of inline script add sorting and filtering). Charts are inline SVG. Built with maud, which
//! escapes every interpolated string: ticket text is hostile input.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use std::collections::BTreeMap;

use super::storm::StormRow;
use super::{FindingRow, FullLists, HtmlOptions, RenderError, Report, RowAction};
use crate::plan::FindingKind;

const STYLE: &str = r#"
:root{--value:#2f6fdb;--work:#e07b1a;--ink:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#fafbfc}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);margin:0;background:var(--bg)}
header{padding:20px 32px;background:#fff;border-bottom:1px solid var(--line)}h1{margin:0 0 4px;font-size:22px}
main{padding:20px 32px;max-width:1400px}.muted{color:var(--muted)}.site-note{border-left:4px solid #c2410c;background:#fff7ed;padding:8px 12px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:140px}
.card b{display:block;font-size:24px}.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
figure{background:#fff;border:1px solid var(--line);border-radius:8px;margin:0;padding:12px}figcaption{font-weight:600;margin-bottom:8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f2f4f7;cursor:pointer;white-space:nowrap}td.num{text-align:right}.tag{display:inline-block;padding:1px 6px;border-radius:10px;font-size:12px;background:#eef}
.tag.move{background:#fde2e1}.tag.review{background:#fff4d6}.tag.fix{background:#e1f5e8}.tag.value{background:#dbe7fb}.tag.work{background:#fde9d6}
.reasons{margin:0;padding-left:16px;color:var(--muted);font-size:12px}.decisive{margin:0 0 4px;font-size:12px}.side{font-size:12px;font-weight:600}.note{white-space:pre-wrap;font-size:12px;color:var(--muted)}
#findings{table-layout:fixed}#findings td{overflow-wrap:anywhere}#findings th{white-space:normal}
#findings th:nth-child(1){width:6%}#findings th:nth-child(2){width:7%}#findings th:nth-child(3){width:9%}#findings th:nth-child(4){width:16%}#findings th:nth-child(5){width:13%}
#findings th:nth-child(6){width:8%}#findings th:nth-child(7){width:8%}#findings th:nth-child(8){width:11%}#findings th:nth-child(9){width:22%}
.clamp{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;line-clamp:3;overflow:hidden}
.rest td{padding:4px 8px}.full-lists{border-left:4px solid #2f6fdb;background:#eef4ff;padding:8px 12px}
input[type=search]{padding:6px 8px;width:320px;border:1px solid var(--line);border-radius:6px;margin:8px 0}
"#;

const SCRIPT: &str = r#"
(function(){
  var q=document.getElementById('filter');var rows=[].slice.call(document.querySelectorAll('#findings tbody tr'));
  if(q){q.addEventListener('input',function(){var t=q.value.toLowerCase();rows.forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(t)>=0?'':'none';});});}
  [].forEach.call(document.querySelectorAll('table.sortable th'),function(th,i){th.addEventListener('click',function(){
    var tb=th.closest('table').tBodies[0];var rs=[].slice.call(tb.rows);var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
    rs.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i].textContent;
      var nx=parseFloat(x),ny=parseFloat(y);var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});
    rs.forEach(function(r){tb.appendChild(r);});});});
  document.body.setAttribute('data-js','ready');
})();
"#;

/// The page's Content-Security-Policy: nothing from the network, and only the report's own script (by
/// hash), so even markup that slipped past escaping could not run.
fn csp() -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    format!("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'")
}

/// A horizontal bar chart: one row per label, bars scaled to the largest value.
fn bars(id: &str, rows: &[(String, u64)], color: &str) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let h = 24 * rows.len().max(1) + 8;
    html! {
        svg id=(id) class="chart" role="img" width="100%" height=(h) viewBox=(format!("0 0 420 {h}")) xmlns="http://www.w3.org/2000/svg" {
            @for (i, (label, v)) in rows.iter().enumerate() {
                @let y = 4 + i * 24;
                @let w = (*v as f64 / max) * 250.0;
                text x="0" y=(y + 15) font-size="12" fill="#1d2330" { (label) }
                rect x="130" y=(y) width=(format!("{w:.1}")) height="18" rx="3" fill=(color) {
                    title { (label) ": " (v) }
                }
                text x=(format!("{:.1}", 136.0 + w)) y=(y + 14) font-size="12" fill="#667085" { (v) }
            }
        }
    }
}

/// A storm's arrivals over its span: one column per equal part of it.
fn arrivals(s: &StormRow) -> Markup {
    let max = s.arrivals.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = s.arrivals.len().max(1);
    let w = 360.0 / n as f64;
    html! {
        svg class="chart arrivals" role="img" width="100%" height="110" viewBox="0 0 420 110" xmlns="http://www.w3.org/2000/svg" {
            title { "Reports over time: " (s.first) " to " (s.last) }
            @for (i, v) in s.arrivals.iter().enumerate() {
                @let h = *v as f64 / max * 80.0;
                @let x = 40.0 + i as f64 * w;
                rect x=(format!("{:.1}", x + 1.0)) y=(format!("{:.1}", 88.0 - h)) width=(format!("{:.1}", w - 2.0)) height=(format!("{h:.1}")) fill="#b42318" {
                    title { (v) " reports" }
                }
            }
            line x1="40" y1="88.5" x2="400" y2="88.5" stroke="#667085" {}
            text x="0" y="14" font-size="11" fill="#667085" { (s.arrivals.iter().max().copied().unwrap_or(0)) }
            text x="40" y="104" font-size="11" fill="#667085" { (s.first.get(..16).unwrap_or(&s.first)) }
            text x="400" y="104" font-size="11" fill="#667085" text-anchor="end" { "+" (s.span()) }
        }
    }
}

/// The storms: per storm its headline, chart, parent, priority and reports.
fn storms(r: &Report) -> Markup {
    html! {
        @if !r.storms.is_empty() {
            h2 { "Storms (" (r.storms.len()) ")" }
            p.muted { "Many reports of one event: each would become one incident with its reports attached." }
            @for s in &r.storms {
                section.storm id=(format!("storm-{}", s.id)) {
                    h3 { (s.id) ": " (s.headline) }
                    div.charts {
                        figure { figcaption { "Arrivals over " (s.span()) } (arrivals(s)) }
                        div {
                            p { b { "Span: " } (s.first) " to " (s.last) " (" (s.span()) "); the everyday rate of such reports predicts " (format!("{:.2}", s.expected)) " in that time." }
                            p { b { "Filed in: " } (s.trackers()) }
                            p { b { "Proposed parent: " } (s.parent_text()) }
                            p { b { "Priority: " } (s.priority_name) " (impact " (s.impact) " × urgency " (s.urgency) ", reach " (s.reach) ")" }
                            ul.reasons { @for d in &s.derivation { li { (d) } } }
                        }
                    }
                    details {
                        summary { (s.reports) " reports from " (s.reporters) " reporters" }
                        table.sortable {
                            thead { tr { th { "report" } th { "filed as" } th { "created" } th { "reporter" } th { "title" } th { "similarity" } } }
                            tbody {
                                @for m in &s.members {
                                    tr {
                                        td { @if m.url.is_empty() { (m.key) } @else { a href=(m.url) { (m.key) } } }
                                        td { (m.tracker) " / " (m.filed_type) }
                                        td { (m.created) }
                                        td { (m.reporter.as_deref().unwrap_or("")) }
                                        td { div.clamp title=(m.title) { (m.title) } }
                                        td.num { (format!("{:.2}", m.similarity)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Stacked Value/Work bars per tracker.
fn mix(r: &Report) -> Markup {
    let h = 28 * r.trackers.len().max(1) + 30;
    html! {
        svg id="chart-mix" class="chart" role="img" width="100%" height=(h) viewBox=(format!("0 0 420 {h}")) xmlns="http://www.w3.org/2000/svg" {
            @for (i, t) in r.trackers.iter().enumerate() {
                @let y = 4 + i * 28;
                @let total = (t.value + t.work).max(1) as f64;
                @let wv = t.value as f64 / total * 260.0;
                @let ww = t.work as f64 / total * 260.0;
                text x="0" y=(y + 15) font-size="12" fill="#1d2330" { (t.name) " (" (t.role) ")" }
                rect x="150" y=(y) width=(format!("{wv:.1}")) height="20" fill="#2f6fdb" { title { (t.name) ": " (t.value) " value" } }
                rect x=(format!("{:.1}", 150.0 + wv)) y=(y) width=(format!("{ww:.1}")) height="20" fill="#e07b1a" { title { (t.name) ": " (t.work) " work" } }
            }
            @let ly = 28 * r.trackers.len().max(1) + 10;
            rect x="150" y=(ly) width="10" height="10" fill="#2f6fdb" {}
            text x="164" y=(ly + 9) font-size="11" { "Value" }
            rect x="214" y=(ly) width="10" height="10" fill="#e07b1a" {}
            text x="228" y=(ly + 9) font-size="11" { "Work" }
        }
    }
}

/// What the page says about the findings it does not list: their counts by action and kind, and where
/// the full lists are.
fn rest(r: &Report, shown: usize, opts: &HtmlOptions) -> Markup {
    let mut counts: BTreeMap<(RowAction, FindingKind), u64> = BTreeMap::new();
    for f in r.findings.iter().skip(shown) {
        *counts.entry((f.action, f.kind)).or_default() += 1;
    }
    let total = r.findings.len();
    html! {
        @if shown < total {
            section #rest {
                h3 { "Not listed here: " (total - shown) " more findings" }
                p.muted { "The page lists the first " (shown) " (moves, then reviews, then fixes and reports; the most confident first), so that it opens quickly at any size." }
                table #rest-counts {
                    thead { tr { th { "action" } th { "finding" } th { "not listed" } } }
                    tbody {
                        @for ((action, kind), n) in &counts {
                            tr { td { span class=(format!("tag {action}")) { (action) } } td { (kind) } td.num { (n) } }
                        }
                    }
                }
            }
        }
        @if total > 0 {
            p.full-lists #full-lists {
                @match &opts.full_lists {
                    FullLists::Beside(links) | FullLists::Served(links) => {
                        b { "All " (total) " findings: " }
                        @for (i, link) in links.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href=(link) { (link) }
                        }
                        @if matches!(opts.full_lists, FullLists::Beside(_)) { " (beside this page)." } @else { "." }
                    }
                    FullLists::Command => {
                        b { "All " (total) " findings: " }
                        code { "twotrack audit --format csv --out findings.csv" } " (or " code { "--format json" } "); "
                        code { "--html-findings N" } " lists more here."
                    }
                }
            }
        }
    }
}

pub fn render(r: &Report, opts: &HtmlOptions) -> Result<String, RenderError> {
    let shown = r.findings.len().min(opts.findings);
    let rows: Vec<FindingRow> = r.findings.rows().take(shown).collect::<Result<_, _>>()?;
    let t = &r.totals;
    let mut by_kind: Vec<(String, u64)> = Vec::new();
    for (label, n) in [
        ("work in backlog", t.work_in_product),
        ("value in queue", t.value_in_service),
        ("misrouted", t.misrouted),
        ("misprioritised", t.misprioritised),
    ] {
        by_kind.push((label.to_string(), n));
    }
    let conf: Vec<(String, u64)> = r
        .confidence_histogram
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{:.1}–{:.1}", i as f64 / 10.0, (i + 1) as f64 / 10.0), *n))
        .collect();
    let queues: Vec<(String, u64)> = r.queues.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy" content=(csp());
                title { "twotrack audit" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "twotrack audit" }
                    div.muted { "Generated " (r.generated_at) ". Dry run: nothing was written to any tracker. Schema v" (r.schema_version) "." }
                }
                main {
                    @if let Some(line) = t.waiting_line() {
                        p #waiting { (line) ": apply makes the most confident first; the rest are marked " i { "waits" } "." }
                    }
                    @for note in &r.notes {
                        p.site-note role="note" { b { "Note: " } (note) }
                    }
                    section.cards id="summary" {
                        div.card { b { (t.open_items) } "open items" }
                        div.card { b { (t.value) } "Value" }
                        div.card { b { (t.work) } "Work" }
                        div.card { b { (t.misfiled) } "misfiled" }
                        div.card { b { (t.moves) } "to move" }
                        div.card { b { (t.reviews) } "to review" }
                        div.card { b { (t.misrouted) } "misrouted" }
                        div.card { b { (t.misprioritised) } "misprioritised" }
                        div.card id="storms" title="Storms: many reports of one event" { b { (t.storms) } "storms" }
                        div.card id="parked" title="Corrections that failed policy.max_attempts runs in a row: `twotrack outbox list --state parked`" { b { (t.parked) } "parked corrections" }
                    }
                    section.charts {
                        figure { figcaption { "Value / Work mix per tracker" } (mix(r)) }
                        figure { figcaption { "Findings by kind" } (bars("chart-findings", &by_kind, "#c2410c")) }
                        figure { figcaption { "Confidence distribution (open items)" } (bars("chart-confidence", &conf, "#475467")) }
                        figure { figcaption { "Work by queue" } (bars("chart-queues", &queues, "#e07b1a")) }
                    }
                    (storms(r))
                    h2 { "Trackers" }
                    table.sortable id="trackers" {
                        thead { tr { th { "tracker" } th { "kind" } th { "role" } th { "open" } th { "value" } th { "work" } th { "misfiled" } th { "share" } th { "move" } th { "review" } th { "exempt" } } }
                        tbody {
                            @for tr in &r.trackers {
                                tr {
                                    td { (tr.name) } td { (tr.kind) } td { (tr.role) }
                                    td.num { (tr.open_items) } td.num { (tr.value) } td.num { (tr.work) }
                                    td.num { (tr.misfiled) } td.num data-v=(tr.misfiled_share) { (format!("{:.0}%", tr.misfiled_share * 100.0)) }
                                    td.num { (tr.moves) } td.num { (tr.reviews) } td.num { (tr.exempt) }
                                }
                            }
                        }
                    }
                    h2 { "Findings (" (r.findings.len()) ")" }
                    (rest(r, shown, opts))
                    @if r.findings.is_empty() {
                        p { "Nothing is misfiled. Both tracks are clean." }
                    } @else {
                        input #filter type="search" placeholder="Filter findings…" aria-label="Filter findings";
                        table.sortable id="findings" {
                            thead { tr { th { "action" } th { "finding" } th { "item" } th { "title" } th { "from → to" } th { "belongs" } th { "confidence" } th { "target" } th { "why" } } }
                            tbody {
                                @for f in &rows {
                                    tr {
                                        td { span class=(format!("tag {}", f.action)) { (f.action) } @if f.waits { " " i.muted { "waits" } } }
                                        td { (f.kind) }
                                        td { @if f.url.is_empty() { (f.key) } @else { a href=(f.url) { (f.key) } } }
                                        td.title { div.clamp title=(f.title) { (f.title) } }
                                        td.change { span.from { (f.from) } " → " span.to { (f.to) } }
                                        td { span class=(format!("tag {}", f.class)) { (f.class) } " " (f.item_kind)
                                            @if let Some(p) = f.priority { br; span.muted { "P" (p) " (impact " (f.impact.unwrap_or(0)) " × urgency " (f.urgency.unwrap_or(0)) ")" } } }
                                        td.num data-v=(f.confidence) { (format!("{:.2}", f.confidence)) }
                                        td {
                                            @if let Some(t) = &f.target {
                                                (t.tracker) " / " (t.container) " / " (t.item_type)
                                                @if let Some(q) = &t.queue { br; "queue: " (q) }
                                                @if let Some(p) = &t.priority { br; "priority: " (p) }
                                                details { summary { "note" } div.note { (t.note) } }
                                            }
                                        }
                                        td.why {
                                            @if let Some(d) = &f.reasons.decisive { p.decisive { b { "Decided by " } (d) } }
                                            @if !f.reasons.for_proposed.is_empty() {
                                                span.side { "For:" }
                                                ul.reasons.for { @for reason in f.reasons.for_proposed.iter().take(3) { li { (reason) } } }
                                            }
                                            @if !f.reasons.for_current.is_empty() {
                                                span.side { "For staying:" }
                                                ul.reasons.against { @for reason in f.reasons.for_current.iter().take(3) { li { (reason) } } }
                                            }
                                            @if !f.reasons.details.is_empty() {
                                                details { summary { "details" } ul.reasons { @for reason in &f.reasons.details { li { (reason) } } } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    Ok(page.into_string())
}
