//! `twotrack classify`, `twotrack explain KEY` and `twotrack rules test`.
//!
//! All three use the classifier the configuration describes (its `[[rule]]`s over the built-in ones,
//! its queues, its priority matrix and its thresholds) when a configuration file exists, and the
//! built-in defaults otherwise, where "jira" means a product backlog and "servicenow" a service queue.

use super::output::errln;
use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use twotrack_api::{Class, Item, TrackerRole};

use super::remote::Reader;
use crate::classify::fuse::MovePolicy;
use crate::classify::site::SiteOptions;
use crate::classify::{
    Action, CaseOutcome, Classifier, QueueSpec, RuleSpec, RuleTest, Site, default_queues, default_rules,
    parse_rules_file, role_of_name,
};
use crate::exit::{Exit, usage};
use crate::parallel::Decode;

use crate::report::verdict::VerdictLine;

use super::jsonl::{BoundedLines, Cut, Line};
use super::spill::{Raw, SpillWriter};

#[derive(Debug, clap::Args)]
pub struct ClassifyArgs {
    /// JSON Lines, one item per line: {"id", "tracker", "type"?, "summary", "description"?, "labels"?}.
    /// Reads stdin when absent or "-".
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Skip lines that are not valid items, or not UTF-8 (they are counted in the summary, with
    /// their line numbers) instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Read at most this many bytes of each text (summary, description, any field); the rest of a
    /// longer one is skipped as it is read, and the verdict's reasons say so. Memory is bounded by
    /// this cap, not by the input.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_TEXT_BYTES, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_text_bytes: u32,
    /// Treat the whole input as one site: each item's `tracker` is where it sits. Learn the site
    /// model from the input (cross-fitted: an item is judged only by a model that never saw it) and
    /// each tracker's misfiling rate, then write the verdicts in input order. This is how audits
    /// decide; without it, each line is judged by its text alone, as it streams.
    #[arg(long)]
    pub site: bool,
}

/// The default of `--max-text-bytes`: 64 KiB, far more than any ticket's text that says something.
pub const DEFAULT_MAX_TEXT_BYTES: u32 = 64 * 1024;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The item's key ("SHOP-123", "INC0010001"), in any tracker of the mirror.
    #[arg(value_name = "KEY")]
    pub key: String,
    #[command(flatten)]
    pub location: super::mirror::MirrorLocation,
    /// Print the verdict as JSON (one line per item found).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum RulesCmd {
    /// Run the test cases carried by the rules files: the built-in ones, then each FILE's (whose rules
    /// are applied on top of the configuration's). Exit 1 if a case fails.
    Test(RulesTestArgs),
}

#[derive(Debug, clap::Args)]
pub struct RulesTestArgs {
    /// Rules files (`[[rule]]` and `[[test]]` tables) to add, in order.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// The classifier and the configuration it was built from; without a configuration file, the built-in
/// defaults, where "jira" (or "product") means a product backlog and "servicenow" (or "service") a
/// service queue.
struct Setup {
    classifier: Classifier,
    /// The configuration, where there is one: `explain` then plans as the audit does.
    config: Option<crate::config::Config>,
    /// The built-in queues and priority matrix (what a configuration without its own has too).
    default_queues: Vec<QueueSpec>,
    default_matrix: crate::classify::PriorityMatrix,
}

impl Setup {
    /// Load the configuration if there is one (a broken one is a usage error); otherwise the defaults.
    fn load(g: &super::Global) -> anyhow::Result<Setup> {
        let config =
            if g.config.is_none() && !g.config_path().exists() { None } else { Some(g.load_config_offline()?) };
        let classifier = match &config {
            None => Classifier::with_defaults(),
            Some(config) => Classifier::new(&config.rules, &config.queues, &config.priority).map_err(|e| {
                usage(anyhow::Error::new(e).context(format!("the rules of {}", config.source.display())))
            })?,
        };
        Ok(Setup {
            classifier,
            config,
            default_queues: default_queues(),
            default_matrix: crate::classify::PriorityMatrix::default(),
        })
    }

    fn moves(&self) -> MovePolicy {
        self.config.as_ref().map(|c| c.policy.moves()).unwrap_or_default()
    }

    /// The role of a tracker: a configured name, else "jira" / "servicenow" (or "product" / "service").
    fn role(&self, tracker: &str) -> Option<TrackerRole> {
        let configured = self.config.as_ref().and_then(|c| c.tracker(tracker)).map(|t| t.role);
        configured.or_else(|| role_of_name(tracker))
    }

    fn rules(&self) -> &[RuleSpec] {
        self.config.as_ref().map_or(&[], |c| &c.rules)
    }

    fn queues(&self) -> &[QueueSpec] {
        self.config.as_ref().map_or(&self.default_queues, |c| &c.queues)
    }

    fn matrix(&self) -> &crate::classify::PriorityMatrix {
        self.config.as_ref().map_or(&self.default_matrix, |c| &c.priority)
    }

    /// Learn a site from `items`, as the audit learns it from the mirror (a tracker name the
    /// configuration lacks taking its role from its name, as in [`Setup::role`]).
    fn learn<T: Decode<E>, E: Send>(
        &self,
        items: impl IntoIterator<Item = Result<T, E>, IntoIter: Send>,
    ) -> Result<Site, E> {
        let defaults = crate::plan::Returns::default();
        let (min_per_role, keep, returns) = match &self.config {
            Some(c) => (c.policy.site_min_items, c.policy.keep_label.as_str(), &c.policy.returns),
            None => (SiteOptions::default().min_per_role, crate::plan::DEFAULT_KEEP_LABEL, &defaults),
        };
        // An export carries no outbox: what a human did after a move is read from the items alone
        // (the return marker or a returning resolution on a twin).
        let moves = crate::plan::Moves::default();
        Site::learn_labelled(
            &self.classifier,
            SiteOptions { min_per_role, ..SiteOptions::default() },
            items,
            |item| self.role(&item.tracker),
            |item| crate::plan::label_with(keep, returns, &moves, item),
        )
    }

    fn known_trackers(&self) -> String {
        let mut names: Vec<&str> =
            self.config.iter().flat_map(|c| c.trackers.iter().map(|t| t.name.as_str())).collect();
        names.sort_unstable();
        names.extend(["jira", "servicenow"]);
        names.join(", ")
    }
}

/// One input line of `twotrack classify`. Unknown fields are ignored, so labelled data can be piped in.
/// (`--site` also keeps it in its spill, where every field is written, in this order.)
#[derive(Debug, Serialize, Deserialize)]
struct InputItem {
    id: String,
    tracker: String,
    #[serde(default, rename = "type")]
    filed_type: Option<String>,
    summary: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    /// Impact and urgency as filed, if any (the fallback when the text states none).
    #[serde(default)]
    impact: Option<u8>,
    #[serde(default)]
    urgency: Option<u8>,
    /// Tracker fields (`story_points`, `contact_type`, ...).
    #[serde(default)]
    fields: Option<BTreeMap<String, String>>,
}

impl InputItem {
    fn into_item(self) -> Item {
        let mut item = Item::new(self.tracker, self.id, self.summary);
        item.filed_type = self.filed_type.unwrap_or_default();
        item.description = self.description.unwrap_or_default();
        item.labels = self.labels.unwrap_or_default();
        item.impact = self.impact;
        item.urgency = self.urgency;
        item.fields = self.fields.unwrap_or_default();
        item
    }
}

/// What `classify` saw, for the summary on stderr.
#[derive(Debug, Default)]
struct Tally {
    items: u64,
    value: u64,
    work: u64,
    misfiled: u64,
    moves: u64,
    reviews: u64,
    skipped: Skipped,
}

impl Tally {
    fn count(&mut self, c: Counted) {
        self.items += 1;
        if c.value {
            self.value += 1;
        } else {
            self.work += 1;
        }
        self.misfiled += u64::from(c.misfiled);
        self.moves += u64::from(c.action == Some(Action::Move));
        self.reviews += u64::from(c.action == Some(Action::Review));
    }
}

/// What the summary counts of one verdict line.
#[derive(Debug, Clone, Copy)]
struct Counted {
    value: bool,
    misfiled: bool,
    /// A move or a review (`None` for an item that stays).
    action: Option<Action>,
}

impl Counted {
    fn of(out: &VerdictLine<'_>) -> Counted {
        let action = (out.action != Action::Keep).then_some(out.action);
        Counted { value: out.class == Class::Value, misfiled: out.misfiled, action }
    }
}

pub async fn run_classify(args: ClassifyArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let setup = Setup::load(g)?;
    // Read on a thread of its own: standard input unlocked (a lock stays with the thread that took it).
    let input: Box<dyn BufRead + Send> = match args.input.as_deref() {
        None => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) if p == Path::new("-") => Box::new(std::io::BufReader::new(std::io::stdin())),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
    };
    let mut out = BufWriter::new(super::output::stdout());
    let mut tally = Tally::default();
    let reading = Reading { skip_invalid: args.skip_invalid, max_text_bytes: args.max_text_bytes as usize };
    let outcome = if args.site {
        classify_site(input, &mut out, &setup, &reading, &mut tally)
    } else {
        classify_stream(input, &mut out, &setup, &reading, &mut tally)
    };
    let flushed = out.flush();
    if g.quiet == 0 {
        errln!(
            "classified {} items: {} value, {} work; {} misfiled ({} move, {} review); {}",
            tally.items,
            tally.value,
            tally.work,
            tally.misfiled,
            tally.moves,
            tally.reviews,
            tally.skipped.summary()
        );
    }
    // A failed write to stdout is main's to judge (a closed pipe ends quietly).
    outcome?;
    flushed.context(super::output::CONTEXT)?;
    Ok(Exit::Ok)
}

/// Read items line by line and write one verdict line each, judged on every core and written in the
/// input's order: memory does not grow with the input.
fn classify_stream(
    input: impl BufRead + Send,
    out: &mut impl Write,
    setup: &Setup,
    reading: &Reading,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let mut skipped = Skipped::default();
    let judge = |input: InputItem, role, cuts: Vec<Cut>| {
        let item = input.into_item();
        let mut verdict = setup.classifier.classify(&item);
        verdict.reasons.extend(cut_reasons(&cuts, reading.max_text_bytes));
        rendered(&VerdictLine::by_text(&item.key, &verdict, role))
    };
    let done = read_items(input, setup, reading, &mut skipped, judge, |line| write_line(out, line, tally));
    tally.skipped = skipped;
    done
}

/// Read every item, learn the site from them, then write the verdicts in input order. The items wait
/// in a temporary file ([`SpillWriter`]), not in memory: an export of a large site (1.4 GB of JSON
/// Lines at 1,000,000 items per tracker) is read in memory that does not grow with it. The learning
/// and the judging each read the file back on every core (as the audit reads the mirror), the
/// verdicts written in the input's order.
fn classify_site(
    input: impl BufRead + Send,
    out: &mut impl Write,
    setup: &Setup,
    reading: &Reading,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let spill_error = "cannot keep the input in a temporary file (is the temporary directory full? TMPDIR sets it)";
    let mut spill = SpillWriter::new().context(spill_error)?;
    let keep = |input, role, cuts| (input, role, cuts);
    read_items(input, setup, reading, &mut tally.skipped, keep, |line| spill.push(&line).context(spill_error))?;
    let spilled = spill.finish().context(spill_error)?;
    tracing::debug!(items = spilled.len(), "input read");
    let lines = || spilled.records().map(|records| records.map(|r| r.map(Spilled)));
    let site = setup.learn(lines().context(spill_error)?).context(spill_error)?;
    match site.model.abstains() {
        Some(why) => tracing::warn!("{why}: nothing can move, items are at most flagged for review"),
        None => tracing::debug!(folds = site.model.folds(), "site model learned"),
    }
    let judge = |line: Spilled| {
        Some(line.read().map(|(input, role, cuts)| {
            let item = input.into_item();
            let (mut verdict, placement) = site.judge(&setup.classifier, &item, role, setup.moves());
            verdict.reasons.extend(cut_reasons(&cuts, reading.max_text_bytes));
            rendered(&VerdictLine::judged(&item.key, &verdict, role, &placement))
        }))
    };
    crate::parallel::map_in_order(lines().context(spill_error)?, crate::parallel::workers(), judge, |judged| {
        write_line(out, judged.context(spill_error)?, tally)
    })
}

/// One input item as the spill of `classify --site` holds it: the line as read (its texts cut to
/// the cap), where it sits, and what was cut.
struct Spilled(Raw);

impl Spilled {
    fn read(&self) -> std::io::Result<(InputItem, TrackerRole, Vec<Cut>)> {
        self.0.read()
    }
}

impl Decode<std::io::Error> for Spilled {
    fn decode(self) -> std::io::Result<Item> {
        self.read().map(|(input, _, _)| input.into_item())
    }
}

/// A verdict line as written, and what the summary counts of it (made where the item is judged).
fn rendered(line: &VerdictLine<'_>) -> (Vec<u8>, Counted) {
    let mut bytes = Vec::new();
    // Writing into memory cannot fail.
    let _ = line.write(&mut bytes);
    (bytes, Counted::of(line))
}

fn write_line(out: &mut impl Write, (bytes, counted): (Vec<u8>, Counted), tally: &mut Tally) -> anyhow::Result<()> {
    tally.count(counted);
    out.write_all(&bytes).context("cannot write the verdicts")
}

/// Parse items line by line, and hand what `map` makes of each (with its tracker's role) to `each`, in
/// the input's order. One thread reads the lines, cutting each text to `max_text_bytes` as it is read
/// (the cut noted in the verdict's reasons), so memory is bounded by the cap, not by the input; the
/// lines are parsed and mapped on every core. A line that is not UTF-8 is an invalid line.
fn read_items<U: Send>(
    input: impl BufRead + Send,
    setup: &Setup,
    reading: &Reading,
    skipped: &mut Skipped,
    map: impl Fn(InputItem, TrackerRole, Vec<Cut>) -> U + Sync,
    mut each: impl FnMut(U) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut lines = BoundedLines::new(input, reading.max_text_bytes);
    let mut read = 0;
    let lines = std::iter::from_fn(move || {
        let line = lines.next_line().with_context(|| format!("cannot read line {}", read + 1)).transpose()?;
        if let Ok(Line::Text { number, .. } | Line::Invalid { number, .. }) = &line {
            read = *number;
        }
        Some(line)
    });
    // Each line: its number, and its item mapped (`None` for a blank line) or why it is no item.
    let parse = |line: Line| {
        Some(match line {
            Line::Text { number, text, cuts } => {
                if text.trim().is_empty() {
                    return Some((number, Ok(None)));
                }
                let parsed = serde_json::from_str::<InputItem>(&text)
                    .map_err(|e| format!("not a valid item: {e}"))
                    .and_then(|input| match setup.role(&input.tracker) {
                        Some(role) => Ok((input, role)),
                        None => Err(format!(
                            "unknown tracker {:?} (known: {}); pass --config to name your trackers",
                            input.tracker,
                            setup.known_trackers()
                        )),
                    });
                (number, parsed.map(|(input, role)| Some(map(input, role, cuts))))
            }
            Line::Invalid { number, why } => (number, Err(why)),
        })
    };
    crate::parallel::map_in_order(lines, crate::parallel::workers(), parse, |(number, parsed)| match parsed {
        Ok(Some(mapped)) => each(mapped),
        Ok(None) => Ok(()),
        Err(_) if reading.skip_invalid => {
            skipped.add(number);
            Ok(())
        }
        Err(why) => Err(usage(anyhow::anyhow!("line {number}: {why} (use --skip-invalid to go on past bad lines)"))),
    })
}

/// How `classify` reads its input.
struct Reading {
    skip_invalid: bool,
    max_text_bytes: usize,
}

/// The lines `--skip-invalid` skipped.
#[derive(Debug, Default)]
struct Skipped {
    count: u64,
    /// The first few skipped lines' numbers, for the summary.
    first: Vec<usize>,
}

impl Skipped {
    /// Of the skipped lines, the summary names this many.
    const NAMED: usize = 10;

    fn add(&mut self, number: usize) {
        self.count += 1;
        if self.first.len() < Self::NAMED {
            self.first.push(number);
        }
    }

    /// "0 skipped", "2 skipped (lines 3, 7)", "12 skipped (lines 1, 2, ..., 10, ...)".
    fn summary(&self) -> String {
        if self.count == 0 {
            return "0 skipped".to_string();
        }
        let numbers: Vec<String> = self.first.iter().map(usize::to_string).collect();
        let more = if self.count > self.first.len() as u64 { ", ..." } else { "" };
        let noun = if self.count == 1 { "line" } else { "lines" };
        format!("{} skipped ({noun} {}{more})", self.count, numbers.join(", "))
    }
}

/// The reasons a verdict gains when its item's texts were cut to the cap.
fn cut_reasons(cuts: &[Cut], cap: usize) -> impl Iterator<Item = crate::classify::Reason> + '_ {
    cuts.iter().map(move |c| crate::classify::Reason {
        rule: "text-cut".into(),
        supports: "input".into(),
        subject: crate::classify::Subject::Context,
        evidence: format!(
            "{}: only the first {cap} of its {} bytes were read (--max-text-bytes)",
            if c.field.is_empty() { "a text" } else { c.field.as_str() },
            c.bytes
        ),
        weight: 0.0,
    })
}

pub async fn run_explain(args: ExplainArgs, g: &super::Global) -> anyhow::Result<Exit> {
    let setup = Setup::load(g)?;
    let configured = setup.config.as_ref().map(|c| &c.mirror.path);
    let path = match (&args.location.mirror, configured) {
        (Some(path), _) | (None, Some(path)) => path.clone(),
        (None, None) => {
            return Err(usage(anyhow::anyhow!(
                "no configuration file ({}) to find the mirror in; pass --mirror PATH",
                g.config_path().display()
            )));
        }
    };
    let not_found = || anyhow::anyhow!("no item {:?} in the mirror at {}", args.key, path.display());
    let token = setup.config.as_ref().and_then(|c| c.daemon.token.as_ref());
    let text = match super::remote::open(&path, token, g.quiet > 0)? {
        Reader::Daemon(daemon) => {
            let json = if args.json { "true" } else { "false" };
            daemon.get(&["v1", "explain", &args.key], &[("json", json)]).await?.body
        }
        Reader::Local(mirror) => match &setup.config {
            Some(config) => {
                let progress = super::progress::Bars::when(g.progress());
                crate::audit::explain(config, &mirror, &args.key, args.json, progress.as_ref())?
                    .ok_or_else(not_found)?
            }
            None => {
                let items = mirror.find(&args.key)?;
                if items.is_empty() {
                    return Err(not_found());
                }
                // The same judgement as the audit's: the site learned from the whole mirror.
                let progress = super::progress::Bars::when(g.progress());
                let site =
                    crate::audit::learning(mirror.stored_count()?, mirror.stored(None), progress.as_ref(), |items| {
                        setup.learn(items)
                    })?;
                let role = |tracker: &str| setup.role(tracker);
                let explainer = crate::audit::Explainer {
                    classifier: &setup.classifier,
                    site: &site,
                    planner: None,
                    moves: setup.moves(),
                    matrix: setup.matrix(),
                    role: &role,
                };
                explainer.explain(&items, args.json)
            }
        },
    };
    super::output::print(&text)?;
    Ok(Exit::Ok)
}

pub async fn run_rules(cmd: RulesCmd, g: &super::Global) -> anyhow::Result<Exit> {
    match cmd {
        RulesCmd::Test(args) => rules_test(&args.files, g),
    }
}

/// Run the built-in test cases and those of each file; print one line per case and a summary.
fn rules_test(files: &[PathBuf], g: &super::Global) -> anyhow::Result<Exit> {
    let setup = Setup::load(g)?;
    let defaults = default_rules().map_err(|e| anyhow::Error::new(e).context("the built-in rules"))?;
    let mut loaded = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let file = parse_rules_file(&text, &path.display().to_string()).map_err(usage)?;
        loaded.push((path.display().to_string(), file));
    }
    let mut layers: Vec<&[RuleSpec]> = vec![setup.rules()];
    layers.extend(loaded.iter().map(|(_, f)| f.rules.as_slice()));
    let classifier = Classifier::with_layers(&layers, setup.queues(), setup.matrix()).map_err(usage)?;
    let mut suites: Vec<(&str, &[RuleTest])> = vec![("built-in", &defaults.tests)];
    suites.extend(loaded.iter().map(|(origin, f)| (origin.as_str(), f.tests.as_slice())));

    let mut out = super::output::stdout();
    let (mut passed, mut failed) = (0usize, 0usize);
    for (origin, tests) in suites {
        for (i, case) in tests.iter().enumerate() {
            let outcome: CaseOutcome = classifier.run_case(case);
            if outcome.failures.is_empty() {
                passed += 1;
                if g.quiet == 0 {
                    writeln!(out, "ok    {origin} #{}: {}", i + 1, case.summary)?;
                }
            } else {
                failed += 1;
                writeln!(out, "FAIL  {origin} #{}: {}", i + 1, case.summary)?;
                for f in &outcome.failures {
                    writeln!(out, "        {f}")?;
                }
                for r in &outcome.verdict.reasons {
                    writeln!(out, "        because {r}")?;
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    out.flush()?;
    Ok(if failed == 0 { Exit::Ok } else { Exit::Failure })
}
