//! `twotrack audit [--sync] [--format html|md|json|csv] [--out PATH] [--tracker NAME] [--fail-on ...]`

use super::output::errln;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::remote::Reader;
use crate::exit::Exit;
use crate::mirror::Mirror;
use crate::registry::Registry;
use crate::report::{Format, FullLists, HtmlOptions, Report};
use crate::sync::{SyncOptions, sync_all};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Exit 3 when any item is misfiled (to move or to review).
    Misfiled,
    /// Exit 3 when any finding needs a human review.
    Review,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Sync the trackers first.
    #[arg(long)]
    pub sync: bool,
    /// Report format [default: md on stdout, or from the --out extension].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report here instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Only audit this tracker.
    #[arg(long, value_name = "NAME")]
    pub tracker: Option<String>,
    /// Exit with code 3 when findings of this kind exist (for CI).
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// The HTML page lists this many findings, the most actionable first, and counts the rest (with
    /// --out, all of them are written beside it as PATH-STEM.findings.csv).
    #[arg(long, value_name = "N", default_value_t = crate::report::HTML_FINDINGS)]
    pub html_findings: usize,
}

pub async fn run(args: AuditArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let config = if args.sync { g.load_config()? } else { g.load_config_offline()? };
    if let Some(t) = &args.tracker
        && config.tracker(t).is_none()
    {
        return Err(crate::exit::usage(anyhow::anyhow!("no tracker named {t:?} in {}", config.source.display())));
    }
    let format = args
        .format
        .or_else(|| {
            let ext = args.out.as_ref()?.extension()?.to_str()?.to_ascii_lowercase();
            [Format::Html, Format::Md, Format::Json, Format::Csv].into_iter().find(|f| f.extension() == ext)
        })
        .unwrap_or(Format::Md);
    let path = &config.mirror.path;
    let reader = if args.sync {
        Reader::Local(Mirror::open(path).map_err(|e| super::remote::locked(e, path))?)
    } else {
        super::remote::open(path, config.daemon.token.as_ref(), g.quiet > 0)?
    };
    let summary = match reader {
        Reader::Local(mirror) => {
            if args.sync {
                let registry = Registry::build(&config).context("could not set up the connectors")?;
                let opts = SyncOptions { tracker: args.tracker.clone(), full: false, progress: g.progress() };
                let results = sync_all(&registry, &mirror, &opts).await;
                if let Some(failed) = results.iter().find(|r| r.error.is_some()) {
                    anyhow::bail!(
                        "sync of {} failed ({}); not auditing a partial picture",
                        failed.tracker,
                        failed.error.as_deref().unwrap_or("")
                    );
                }
            }
            require_synced(&config, &mirror, args.tracker.as_deref())?;
            let progress = super::progress::Bars::when(g.progress());
            let report = crate::audit::audit_with(&config, &mirror, args.tracker.as_deref(), progress.as_ref())?;
            let summary = Summary {
                open_items: report.totals.open_items,
                misfiled: report.misfiled(),
                moves: report.totals.moves,
                reviews: report.totals.reviews,
                review_findings: report.review_findings(),
                waiting: report.totals.waiting_line(),
                storms: report.storms.iter().map(|s| format!("{}: {}", s.id, s.headline)).collect(),
            };
            let html = HtmlOptions { findings: args.html_findings, full_lists: FullLists::Command };
            let html = match &args.out {
                // The page lists the first findings; all of them go beside it.
                Some(out) if format == Format::Html && report.findings.len() > args.html_findings => {
                    let name = write_full_list(&report, out)?;
                    errln!(
                        "the page lists {} of {} findings; all of them: {}",
                        args.html_findings,
                        report.findings.len(),
                        out.with_file_name(&name).display()
                    );
                    HtmlOptions { full_lists: FullLists::Beside(vec![name]), ..html }
                }
                _ => html,
            };
            let out = args.out.as_deref();
            // A large report takes seconds to write; on stdout the report is what the terminal shows.
            let writing = (g.progress() && out.is_some()).then(|| super::progress::spinner("writing the report"));
            let written = emit(out, |w| report.write(format, &html, w).map_err(anyhow::Error::new));
            if let Some(bar) = writing {
                bar.finish_and_clear();
            }
            written?;
            summary
        }
        Reader::Daemon(daemon) => {
            let findings = args.html_findings.to_string();
            let beside = args.out.as_deref().filter(|_| format == Format::Html).map(full_list_name);
            let mut query = vec![("format", format.extension())];
            query.extend(args.tracker.as_deref().map(|t| ("tracker", t)));
            if format == Format::Html {
                query.push(("findings", &findings));
                query.extend(beside.as_deref().map(|name| ("beside", name)));
            }
            let answer = daemon.get(&["v1", "report"], &query).await?;
            if g.quiet == 0
                && let Some(at) = answer.header("x-twotrack-generated-at")
            {
                errln!("note: the daemon's audit of {at}");
            }
            // The page lists the first findings; all of them go beside it, as the daemon has them.
            if let (Some(page), Some(name)) = (&args.out, &beside)
                && answer.count("x-twotrack-findings") > args.html_findings as u64
            {
                query.retain(|(k, _)| *k == "tracker");
                query.push(("format", Format::Csv.extension()));
                let all = daemon.get(&["v1", "report"], &query).await?;
                let path = page.with_file_name(name);
                emit(Some(&path), |w| Ok(w.write_all(all.body.as_bytes())?))?;
                errln!(
                    "the page lists {} of {} findings; all of them: {}",
                    args.html_findings,
                    answer.count("x-twotrack-findings"),
                    path.display()
                );
            }
            let summary = Summary {
                open_items: answer.count("x-twotrack-open-items"),
                misfiled: answer.count("x-twotrack-misfiled"),
                moves: answer.count("x-twotrack-moves"),
                reviews: answer.count("x-twotrack-reviews"),
                review_findings: answer.count("x-twotrack-review-findings"),
                waiting: answer.header("x-twotrack-waiting").map(str::to_string),
                storms: Vec::new(),
            };
            emit(args.out.as_deref(), |w| Ok(w.write_all(answer.body.as_bytes())?))?;
            summary
        }
    };
    // Beside a report written to a file, its summary (on stdout the report says it).
    if let Some(path) = &args.out {
        errln!(
            "{} open items, {} misfiled ({} to move, {} to review); report: {}",
            summary.open_items,
            summary.misfiled,
            summary.moves,
            summary.reviews,
            path.display()
        );
        if let Some(waiting) = &summary.waiting {
            errln!("{waiting}");
        }
        for storm in &summary.storms {
            errln!("storm {storm}");
        }
    }
    let fail = match args.fail_on {
        Some(FailOn::Misfiled) => summary.misfiled > 0,
        Some(FailOn::Review) => summary.review_findings > 0,
        None => false,
    };
    Ok(if fail { Exit::Findings } else { Exit::Ok })
}

/// Write the report to `out`, or to stdout, through `write`, buffered.
fn emit(
    out: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("could not write the report to {}", path.display()))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
            write(&mut w)
                .and_then(|()| Ok(w.flush()?))
                .with_context(|| format!("could not write the report to {}", path.display()))
        }
        None => {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, super::output::stdout());
            write(&mut w).and_then(|()| Ok(w.flush()?)).context(super::output::CONTEXT)
        }
    }
}

/// The name of the CSV of all findings beside the HTML page at `page` (`audit.html` -> `audit.findings.csv`).
fn full_list_name(page: &std::path::Path) -> String {
    let stem = page.file_stem().map_or_else(|| "audit".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}.findings.csv")
}

/// Write all findings as CSV beside the HTML page at `page` (`audit.html` -> `audit.findings.csv`), for
/// the page to point at; the file's name, relative to the page.
fn write_full_list(report: &Report, page: &std::path::Path) -> anyhow::Result<String> {
    let name = full_list_name(page);
    let path = page.with_file_name(&name);
    emit(Some(&path), |w| report.write(Format::Csv, &HtmlOptions::default(), w).map_err(anyhow::Error::new))?;
    Ok(name)
}

/// What the summary line and `--fail-on` need of a report, wherever it was made.
struct Summary {
    open_items: u64,
    misfiled: u64,
    moves: u64,
    reviews: u64,
    /// Findings whose action is a review (of any kind: misfiled, misrouted, misprioritised).
    review_findings: u64,
    /// "N moves would wait for later cycles (max_moves = M)", where any would.
    waiting: Option<String>,
    /// Each storm in one line, "servicenow/INC0010042: 25 reports in 1h 36m from 24 reporters: ..."
    /// (a local audit's; the daemon's answer carries them in the report itself).
    storms: Vec<String>,
}

/// Refuse to judge a tracker the mirror never pulled: its empty picture would read as a clean backlog
/// (and pass `--fail-on` in CI).
pub(super) fn require_synced(
    config: &crate::config::Config,
    mirror: &Mirror,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let trackers = config.trackers.iter().map(|t| t.name.as_str()).filter(|t| only.is_none_or(|o| o == *t));
    let never = mirror.never_synced(trackers)?;
    if never.is_empty() {
        return Ok(());
    }
    anyhow::bail!("{}", never_synced_message(mirror.path(), &never))
}

/// Why an audit of trackers the mirror never pulled is refused, and what to do.
fn never_synced_message(mirror: &std::path::Path, never: &[&str]) -> String {
    format!(
        "the mirror at {} holds nothing of {} (never synced): an audit would read as a clean backlog; run \
         `twotrack sync` first (or add --sync)",
        mirror.display(),
        never.join(", ")
    )
}
