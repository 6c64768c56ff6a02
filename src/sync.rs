//! The pull loop: for every tracker and every scope of it (all concurrently, each scope its own stream),
//! read the cursor, pull pages of changed items and commit each page together with the advanced cursor,
//! atomically, to the mirror.
//!
//! A crash between pages loses nothing: the next run resumes from the last committed cursor, and the
//! cursor's dedupe drops what was already stored.
//!
//! A scope's first sync and `sync --full` are partitioned: the connector splits the scope into disjoint
//! partitions ([`Connector::partition`]), each page committed with its partition's progress. One pool of
//! streams per tracker (half as many again as its concurrency) pulls the partitions of all
//! its scopes, a stream taking the next partition when it ends one: a ServiceNow instance of six tables
//! runs twelve streams at concurrency 8, not six times eight each holding a page. The plan is stored
//! before the first page, so a crash resumes each partition where it stopped; the scope's cursor is
//! stored only when every partition of it is done. Incremental syncs stay one stream per scope.
//!
//! Pages are committed by the tracker's writer (`src/writer/`), a thread of its own: a stream hands it page *n* and
//! asks for page *n + 1* while the page commits, so the commit hides behind the network round trip and runs
//! beside the streams (on another core when there is one), not on their task. A stream waits for page
//! *n*'s commit before it hands over page *n + 1*: at most one page per stream waits for the mirror, and
//! the cursor (or partition progress) a commit stores never runs ahead of the items it commits.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::join_all;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::{mpsc, oneshot};
use twotrack_api::{Connector, ConnectorError, Cursor, Item};

use crate::mirror::{Mirror, MirrorError, PageOutcome, PartitionPlan, PartitionState, SyncRecord};

/// How far before the start of a partitioned pull its scope's cursor ends at most. Partitions are pulled
/// side by side, so an item edited while the pull ran may sort before the last item another partition
/// stored; the next incremental sync reads again from here (the tracker's clock may also run ahead of
/// ours), and the mirror finds the unchanged items unchanged.
const SETTLE: TimeDelta = TimeDelta::seconds(60);
use crate::registry::{AnyConnector, Registry};

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this tracker.
    pub tracker: Option<String>,
    /// Forget the cursors and pull everything again.
    pub full: bool,
    /// Draw progress bars (on a terminal).
    pub progress: bool,
}

/// The outcome for one tracker.
#[derive(Debug, Clone)]
pub struct TrackerSync {
    pub tracker: String,
    pub pulled: usize,
    pub new: usize,
    pub changed: usize,
    pub pages: usize,
    pub duration: Duration,
    pub error: Option<String>,
}

impl TrackerSync {
    fn named(tracker: &str) -> TrackerSync {
        TrackerSync {
            tracker: tracker.to_string(),
            pulled: 0,
            new: 0,
            changed: 0,
            pages: 0,
            duration: Duration::ZERO,
            error: None,
        }
    }

    fn add_page(&mut self, pulled: usize, outcome: PageOutcome) {
        self.pages += 1;
        self.pulled += pulled;
        self.new += outcome.new;
        self.changed += outcome.changed;
    }
}

/// Errors that stop one tracker's sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The tracker's mirror writer ended before it said how a page's commit went (it panicked).
    #[error("the mirror writer stopped before committing every page")]
    WriterStopped,
    /// Some scopes of the tracker failed, for different reasons (the others were pulled).
    #[error("{}", scope_failures(.0))]
    Scopes(Vec<(String, SyncError)>),
}

/// "incident, problem: <why>; sc_req_item: <why>": the failed scopes grouped by what went wrong.
fn scope_failures(failed: &[(String, SyncError)]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for (scope, e) in failed {
        let why = e.to_string();
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, scopes)) => scopes.push(scope),
            None => groups.push((why, vec![scope])),
        }
    }
    groups.iter().map(|(why, scopes)| format!("{}: {why}", scopes.join(", "))).collect::<Vec<_>>().join("; ")
}

/// Sync every selected tracker concurrently; one failing tracker does not stop the others.
pub async fn sync_all(registry: &Registry, mirror: &Mirror, opts: &SyncOptions) -> Vec<TrackerSync> {
    let bars = if opts.progress { Some(MultiProgress::new()) } else { None };
    let runs = registry.iter().filter(|(name, _)| opts.tracker.as_deref().is_none_or(|t| t == *name)).map(
        |(name, connector)| {
            let bar = bars.as_ref().map(|m| {
                let bar = m.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:12} {pos} pulled  {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(name.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            async move {
                let result = sync_tracker(connector, mirror, opts.full, bar.as_ref()).await;
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                result
            }
        },
    );
    join_all(runs).await
}

/// One tracker's progress: items pulled against the total the tracker announced (the sum over its scopes,
/// as each scope learns its own), with a rate and an ETA once a total is known. Drawn only on a terminal.
struct Progress<'a> {
    bar: Option<&'a ProgressBar>,
    total: Mutex<u64>,
}

impl Progress<'_> {
    fn add_total(&self, total: u64) {
        let Some(bar) = self.bar else { return };
        let mut sum = self.total.lock().unwrap_or_else(PoisonError::into_inner);
        if *sum == 0 {
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:12} [{bar:30}] {human_pos}/{human_len} {per_sec:>10}  ETA {eta:>4}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
        *sum += total;
        bar.set_length((*sum).max(bar.position()));
    }

    fn pulled(&self, items: usize, out: &TrackerSync, scope: &str) {
        if let Some(bar) = self.bar {
            bar.inc(items as u64);
            bar.set_message(format!("{scope}: {} new, {} changed", out.new, out.changed));
        }
    }
}

/// Sync one tracker: every scope, page by page.
pub async fn sync_tracker(
    connector: &AnyConnector,
    mirror: &Mirror,
    full: bool,
    bar: Option<&ProgressBar>,
) -> TrackerSync {
    let name = connector.name().to_string();
    let started = Instant::now();
    let mut out = TrackerSync::named(&name);
    let result = sync_scopes(connector, mirror, full, bar, &mut out).await;
    out.duration = started.elapsed();
    if let Err(e) = &result {
        out.error = Some(e.to_string());
    }
    metrics::counter!("twotrack_items_pulled_total", "tracker" => name.clone()).increment(out.pulled as u64);
    metrics::histogram!("twotrack_sync_seconds", "tracker" => name.clone()).record(out.duration.as_secs_f64());
    let record = SyncRecord {
        at: Utc::now(),
        pulled: out.pulled as u64,
        new: out.new as u64,
        changed: out.changed as u64,
        ok: result.is_ok(),
        error: out.error.clone(),
    };
    if let Err(e) = mirror.record_sync(&name, &record) {
        tracing::warn!(tracker = %name, error = %e, "could not record the sync outcome");
    }
    match &result {
        Ok(()) => tracing::debug!(tracker = %name, pulled = out.pulled, new = out.new, changed = out.changed, "synced"),
        Err(e) => tracing::error!(tracker = %name, error = %e, "sync failed"),
    }
    out
}

async fn sync_scopes(
    connector: &AnyConnector,
    mirror: &Mirror,
    full: bool,
    bar: Option<&ProgressBar>,
    out: &mut TrackerSync,
) -> Result<(), SyncError> {
    let name = connector.name().to_string();
    let shared = Mutex::new(std::mem::replace(out, TrackerSync::named(&name)));
    let progress = Progress { bar, total: Mutex::new(0) };
    let scopes = connector.scopes();
    let (writer, writing) = Writer::start(mirror.clone(), name.clone());
    let tracker = Tracker { connector, mirror, writer: &writer, name: &name, progress: &progress, out: &shared };
    let results = tracker.sync(&scopes, full).await;
    drop(writer);
    // Every page handed over is committed (or failed) before the outcome is told. A writer that panicked
    // has failed the stream whose page it was committing ([`SyncError::WriterStopped`]).
    let _ = writing.await;
    *out = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    let failed = scopes.iter().zip(results).filter_map(|(scope, r)| r.err().map(|e| (scope.to_string(), e)));
    let outcome = outcome(scopes.len(), failed.collect());
    // What the scopes that succeeded pulled is made durable either way.
    mirror.flush()?;
    outcome
}

/// The outcome of a tracker whose `failed` scopes (of `scopes`) failed: where every scope failed for the
/// same reason (credentials, an unreachable server), that reason alone; otherwise each failed scope with
/// its own (the others were pulled).
fn outcome(scopes: usize, mut failed: Vec<(String, SyncError)>) -> Result<(), SyncError> {
    let same = failed.windows(2).all(|w| w[0].1.to_string() == w[1].1.to_string());
    match failed.len() {
        0 => Ok(()),
        n if n == scopes && same => Err(failed.swap_remove(0).1),
        _ => Err(SyncError::Scopes(failed)),
    }
}

/// A page handed to the [`Writer`], with where its stream then stands.
enum Commit {
    /// A page of an incremental stream, with the scope's advanced cursor.
    Page { items: Vec<Item>, cursor: Cursor },
    /// A page of partition `index` of a full pull, with where the partition then stands.
    Partition { index: usize, items: Vec<Item>, state: PartitionState },
}

impl Commit {
    fn items(&self) -> &[Item] {
        match self {
            Commit::Page { items, .. } | Commit::Partition { items, .. } => items,
        }
    }
}

/// How many items a writer stores in one turn at the mirror when its streams queued several pages (at
/// least one page, whatever its size). Two trackers' writers take turns: with a page a turn, Jira's pages
/// of 100 were held to one per ServiceNow page of 500 while both pulled (its streams waited 52 ms a page
/// for their commits, measured in the pull benchmark).
const TURN_ITEMS: usize = 1000;

struct Job {
    scope: String,
    commit: Commit,
    done: oneshot::Sender<Result<PageOutcome, MirrorError>>,
}

/// One tracker's mirror writer: a thread of its own that commits the pages the tracker's streams hand it,
/// in the order handed, each page atomically with its cursor or partition progress. The streams keep
/// parsing and pulling while it commits.
struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

/// A page being committed: its size, and the writer's word on how the commit went.
struct Committing {
    pulled: usize,
    done: oneshot::Receiver<Result<PageOutcome, MirrorError>>,
}

impl Writer {
    /// The writer of `tracker`'s pages, and its thread: it ends once the writer is dropped and every page
    /// handed over is committed. The queue needs no bound of its own: each stream hands over a page only
    /// after its previous one was committed ([`Scope::settle`]).
    fn start(mirror: Mirror, tracker: String) -> (Writer, tokio::task::JoinHandle<()>) {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        // A blocking thread, not an async task: a commit is several milliseconds of CPU and disk, which
        // on a runtime worker would hold up the answers the streams wait for.
        let task = tokio::task::spawn_blocking(move || {
            while let Some(first) = queue.blocking_recv() {
                // What the streams queued meanwhile goes in the same turn at the mirror, up to a budget: the
                // other tracker's writer waits for at most that much.
                let mut jobs = vec![first];
                let mut items = jobs[0].commit.items().len();
                while items < TURN_ITEMS
                    && let Ok(job) = queue.try_recv()
                {
                    items += job.commit.items().len();
                    jobs.push(job);
                }
                let writing = mirror.writing();
                for Job { scope, commit, done } in jobs {
                    let outcome = match &commit {
                        Commit::Page { items, cursor } => writing.apply_page(&tracker, &scope, items, cursor),
                        Commit::Partition { index, items, state } => {
                            writing.apply_partition_page(&tracker, &scope, *index, items, state)
                        }
                    };
                    // A stream that failed meanwhile no longer listens; its page is committed all the same.
                    let _ = done.send(outcome);
                }
            }
        });
        (Writer { jobs }, task)
    }

    /// Hand over one page of `scope`.
    fn commit(&self, scope: &str, commit: Commit) -> Committing {
        let pulled = commit.items().len();
        let (done, receipt) = oneshot::channel();
        // When the writer is gone the receipt says so (its sender is dropped with the job).
        let _ = self.jobs.send(Job { scope: scope.to_string(), commit, done });
        Committing { pulled, done: receipt }
    }
}

/// One tracker being synced: what its streams share.
struct Tracker<'a> {
    connector: &'a AnyConnector,
    mirror: &'a Mirror,
    writer: &'a Writer,
    name: &'a str,
    progress: &'a Progress<'a>,
    out: &'a Mutex<TrackerSync>,
}

/// How a scope is pulled this time.
enum Pull {
    /// One stream from the scope's cursor.
    Incremental(Cursor),
    /// Partitions (a first or full sync, or one interrupted), pulled by the tracker's pool of streams.
    Partitioned(PartitionPlan, Vec<PartitionState>),
}

/// A scope's partitioned pull under way: where each partition stands (a partition is to finish while its
/// stored state has a next page), and the error that stopped the scope, if one did (its other partitions
/// then stop at their next page, and the scope gets no cursor).
struct Partitioned<'a> {
    scope: &'a str,
    started: DateTime<Utc>,
    states: Mutex<Vec<PartitionState>>,
    failed: Mutex<Option<SyncError>>,
}

impl Partitioned<'_> {
    fn has_failed(&self) -> bool {
        self.failed.lock().unwrap_or_else(PoisonError::into_inner).is_some()
    }

    /// The first error stops the scope; later ones (its other partitions') are the same story.
    fn fail(&self, error: SyncError) {
        self.failed.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(error);
    }

    /// Partition `index` ended at `state`; `Some(cursor)` when it was the scope's last.
    fn done(&self, index: usize, state: PartitionState) -> Option<Cursor> {
        let mut states = self.states.lock().unwrap_or_else(PoisonError::into_inner);
        states[index] = state;
        all_ended(&states).then(|| partitioned_cursor(self.started, &states))
    }
}

impl Tracker<'_> {
    /// Sync every scope: incremental ones each as a stream of its own, the partitions of the others by
    /// one pool of streams shared across the scopes. All share the connector's HTTP client, and with it
    /// the tracker's rate limiter and concurrency window. A failing scope stops only itself. The outcome
    /// of each scope, in order.
    async fn sync(&self, scopes: &[String], full: bool) -> Vec<Result<(), SyncError>> {
        let pulls = join_all(scopes.iter().map(|scope| self.prepare(scope, full))).await;
        let mut results: Vec<Result<(), SyncError>> = Vec::with_capacity(scopes.len());
        let (mut streams, mut partitioned) = (Vec::new(), Vec::new());
        for (index, (scope, pull)) in scopes.iter().zip(pulls).enumerate() {
            results.push(Ok(()));
            match pull {
                Err(error) => results[index] = Err(error),
                Ok(Pull::Incremental(cursor)) => streams.push((index, scope.as_str(), cursor)),
                Ok(Pull::Partitioned(plan, states)) => {
                    if let Some(total) = plan.total {
                        self.progress.add_total(total);
                    }
                    if let Some(bar) = self.progress.bar {
                        bar.inc(states.iter().map(|s| s.pulled).sum());
                    }
                    let pull = Partitioned {
                        scope: scope.as_str(),
                        started: plan.started,
                        states: Mutex::new(states),
                        failed: Mutex::new(None),
                    };
                    partitioned.push((index, pull));
                }
            }
        }
        let incremental = join_all(streams.iter().map(|(_, scope, cursor)| self.stream(scope, cursor.clone())));
        let pool = self.pull_partitions(partitioned.iter().map(|(_, pull)| pull).collect());
        let (incremental, ()) = futures::join!(incremental, pool);
        for ((index, ..), result) in streams.iter().zip(incremental) {
            results[*index] = result;
        }
        for (index, pull) in partitioned {
            if let Some(error) = pull.failed.into_inner().unwrap_or_else(PoisonError::into_inner) {
                results[index] = Err(error);
            }
        }
        results
    }

    /// A partitioned pull when one is under way (an interrupted first or full sync resumes, even under
    /// `--full`), the scope was never pulled, or `full`; otherwise an incremental stream from the cursor.
    async fn prepare(&self, scope: &str, full: bool) -> Result<Pull, SyncError> {
        if let Some((plan, states)) = self.mirror.partitions(self.name, scope)? {
            return Ok(Pull::Partitioned(plan, states));
        }
        match self.mirror.cursor(self.name, scope)? {
            Some(cursor) if !full => Ok(Pull::Incremental(cursor)),
            _ => {
                let started = Utc::now();
                let split = self.connector.partition(scope, streams(self.connector.concurrency())).await?;
                let plan = PartitionPlan { started, total: split.total, partitions: split.tokens.len() };
                let states = self.mirror.begin_partitions(self.name, scope, &plan, &split.tokens)?;
                Ok(Pull::Partitioned(plan, states))
            }
        }
    }

    fn record(&self, scope: &str, pulled: usize, outcome: PageOutcome) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.add_page(pulled, outcome);
        self.progress.pulled(pulled, &out, scope);
    }

    /// Pull every unfinished partition of `scopes`, each stream taking the next partition (the scopes'
    /// partitions in turn) when it ends one, and store a scope's cursor once its last partition ends.
    ///
    /// A few more streams than the window has places ([`streams`]): while one stream's page is decoded
    /// and committed, its place carries another stream's request.
    async fn pull_partitions(&self, scopes: Vec<&Partitioned<'_>>) {
        let mut queue = VecDeque::new();
        let mut pending: Vec<VecDeque<(usize, PartitionState)>> = Vec::with_capacity(scopes.len());
        for pull in &scopes {
            let states = pull.states.lock().unwrap_or_else(PoisonError::into_inner);
            pending.push(states.iter().cloned().enumerate().filter(|(_, s)| s.next.is_some()).collect());
            // A scope whose partitions all ended before a crash stored no cursor yet.
            if all_ended(&states) {
                let cursor = partitioned_cursor(pull.started, &states);
                drop(states);
                self.finish(pull, &cursor);
            }
        }
        while pending.iter().any(|p| !p.is_empty()) {
            for (scope, partitions) in pending.iter_mut().enumerate() {
                if let Some((index, state)) = partitions.pop_front() {
                    queue.push_back((scope, index, state));
                }
            }
        }
        let queue = Mutex::new(queue);
        let worker = || async {
            loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                let Some((scope, index, state)) = next else { return };
                let pull = scopes[scope];
                if pull.has_failed() {
                    continue;
                }
                match self.pull_partition(pull, index, state).await {
                    Ok(state) => {
                        if let Some(cursor) = pull.done(index, state) {
                            self.finish(pull, &cursor);
                        }
                    }
                    Err(error) => pull.fail(error),
                }
            }
        };
        join_all((0..streams(self.connector.concurrency())).map(|_| worker())).await;
    }

    /// Store the cursor of a scope whose partitions all ended (unless one failed meanwhile).
    fn finish(&self, pull: &Partitioned<'_>, cursor: &Cursor) {
        if pull.has_failed() {
            return;
        }
        if let Err(error) = self.mirror.finish_partitions(self.name, pull.scope, cursor) {
            pull.fail(error.into());
        }
    }

    /// Wait for a page's commit and count it.
    async fn settle(&self, scope: &str, committing: Option<Committing>) -> Result<(), SyncError> {
        let Some(Committing { pulled, done }) = committing else { return Ok(()) };
        let outcome = done.await.map_err(|_| SyncError::WriterStopped)??;
        self.record(scope, pulled, outcome);
        Ok(())
    }

    /// Pull one partition to its end (or until its scope failed), each page committed with the
    /// partition's progress while the next one is pulled.
    async fn pull_partition(
        &self,
        pull: &Partitioned<'_>,
        index: usize,
        mut state: PartitionState,
    ) -> Result<PartitionState, SyncError> {
        let scope = pull.scope;
        let mut committing = None;
        while let Some(token) = state.next.take() {
            if pull.has_failed() {
                state.next = Some(token);
                break;
            }
            let page = self.connector.pull_page(scope, &Cursor::default(), Some(&token)).await;
            self.settle(scope, committing.take()).await?;
            let page = page?;
            for item in &page.items {
                state.cursor.advance(item);
            }
            state.next = page.next;
            state.pulled += page.items.len() as u64;
            let commit = Commit::Partition { index, items: page.items, state: state.clone() };
            committing = Some(self.writer.commit(scope, commit));
        }
        self.settle(scope, committing).await?;
        Ok(state)
    }

    /// Pull `scope` from `cursor` to its end, one page after the other, each page committed with its
    /// cursor while the next one is pulled (asked for with the cursor advanced over this one, as the
    /// connectors expect).
    async fn stream(&self, scope: &str, mut cursor: Cursor) -> Result<(), SyncError> {
        let connector = self.connector;
        let (mut token, mut committing) = (None::<String>, None);
        loop {
            let page = connector.pull_page(scope, &cursor, token.as_deref()).await;
            self.settle(scope, committing.take()).await?;
            let page = page?;
            if token.is_none()
                && let Some(total) = page.total
            {
                self.progress.add_total(total);
            }
            for item in &page.items {
                cursor.advance(item);
            }
            committing = Some(self.writer.commit(scope, Commit::Page { items: page.items, cursor: cursor.clone() }));
            match page.next {
                Some(next) => token = Some(next),
                None => return self.settle(scope, committing).await,
            }
        }
    }
}

/// Whether every partition was pulled to its end.
fn all_ended(states: &[PartitionState]) -> bool {
    states.iter().all(|s| s.next.is_none())
}

/// How many streams pull a tracker's partitions at `concurrency` requests in flight: half as many again
/// (rounded down), so that the window stays full while some streams decode and commit their pages; at
/// `concurrency = 1`, one.
fn streams(concurrency: usize) -> usize {
    let concurrency = concurrency.max(1);
    concurrency + concurrency / 2
}

/// The scope's cursor after a partitioned pull that began at `started`: every partition's, merged, but
/// never later than `started` less [`SETTLE`] (see there).
fn partitioned_cursor(started: DateTime<Utc>, states: &[PartitionState]) -> Cursor {
    let mut cursor = Cursor::default();
    for state in states {
        cursor.merge(&state.cursor);
    }
    let latest = started - SETTLE;
    match cursor.since {
        Some(since) if since <= latest => cursor,
        _ => Cursor { since: Some(latest), ..Cursor::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(scope: &str, why: &str) -> (String, SyncError) {
        let e = ConnectorError::Invalid { tracker: "servicenow".into(), message: why.into() };
        (scope.to_string(), SyncError::Connector(e))
    }

    fn state(key: &str, updated: DateTime<Utc>) -> PartitionState {
        let mut item = twotrack_api::Item::new("t", key, "s");
        item.updated = updated;
        let mut state = PartitionState::default();
        state.cursor.advance(&item);
        state
    }

    #[test]
    fn a_partitioned_cursor_never_ends_after_the_pull_began_less_the_settling_time() {
        let started = Utc::now();
        let old = started - TimeDelta::days(2);
        let states = [state("A-1", old), state("A-2", old - TimeDelta::days(1)), PartitionState::default()];
        let cursor = partitioned_cursor(started, &states);
        assert_eq!((cursor.since, cursor.seen_at_since.len()), (Some(old), 1), "the latest of the partitions");
        let states = [state("A-1", old), state("A-3", started - TimeDelta::seconds(5))];
        let cursor = partitioned_cursor(started, &states);
        assert_eq!(cursor, Cursor { since: Some(started - SETTLE), ..Cursor::default() });
        let empty = partitioned_cursor(started, &[PartitionState::default()]);
        assert_eq!(empty.since, Some(started - SETTLE), "an empty scope resumes from when its pull began");
    }

    #[test]
    fn progress_adds_up_the_totals_of_the_scopes_and_counts_what_was_pulled() {
        let bar = ProgressBar::hidden();
        let progress = Progress { bar: Some(&bar), total: Mutex::new(0) };
        assert_eq!(bar.length(), None, "a spinner until a total is known");
        progress.add_total(1_000);
        progress.add_total(500);
        progress.pulled(120, &TrackerSync::named("t"), "incident");
        assert_eq!((bar.length(), bar.position()), (Some(1_500), 120));
        // No bar (not a terminal): nothing to do.
        let quiet = Progress { bar: None, total: Mutex::new(0) };
        quiet.add_total(10);
        assert_eq!(*quiet.total.lock().unwrap(), 0);
    }

    #[test]
    fn every_failed_scope_is_named_and_one_shared_reason_said_once() {
        assert!(outcome(3, Vec::new()).is_ok());
        let all_alike = outcome(2, vec![failed("incident", "denied"), failed("problem", "denied")]).unwrap_err();
        assert_eq!(all_alike.to_string(), "servicenow: denied");
        let some = outcome(
            4,
            vec![failed("incident", "denied"), failed("problem", "denied"), failed("change_request", "gone")],
        )
        .unwrap_err();
        assert_eq!(some.to_string(), "incident, problem: servicenow: denied; change_request: servicenow: gone");
        let one_of_many = outcome(6, vec![failed("sc_req_item", "denied")]).unwrap_err();
        assert_eq!(one_of_many.to_string(), "sc_req_item: servicenow: denied");
    }
}
