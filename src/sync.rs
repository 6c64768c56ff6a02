//! The pull loop: for every tracker and every scope of it (all concurrently, each scope its own stream),
//! read the cursor, pull pages of changed items and commit each page together with the advanced cursor,
//! atomically, to the mirror.
//!
//! A crash between pages loses nothing: the next run resumes from the last committed cursor, and the
//! cursor's dedupe drops what was already stored.
//!
//! A scope's first sync and `sync --full` are partitioned: the connector splits the scope into disjoint
//! partitions ([`Connector::partition`]), pulled by as many streams as the tracker's concurrency, each page
//! committed with its partition's progress. The plan is stored before the first page, so a crash resumes
//! each partition where it stopped; the scope's cursor is stored only when every partition is done.
//! Incremental syncs stay one stream per scope.
//!
//! Pages are committed by the tracker's [`Writer`], a thread of its own: a stream hands it page *n* and
//! asks for page *n + 1* while the page commits, so the commit hides behind the network round trip and runs
//! beside the streams (on another core when there is one), not on their task. A stream waits for page
//! *n*'s commit before it hands over page *n + 1*: at most one page per stream waits for the mirror, and
//! the cursor (or partition progress) a commit stores never runs ahead of the items it commits.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use futures::future::{join_all, try_join_all};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio::sync::{mpsc, oneshot};
use twotrack_api::{Connector, ConnectorError, Cursor, Item};

use crate::mirror::{Mirror, MirrorError, PageOutcome, PartitionPlan, PartitionState, SyncRecord};

/// Partitions of a full pull per stream: more partitions than streams, so that a stream done with a small
/// partition takes the next one and the streams end together.
const PARTITIONS_PER_STREAM: usize = 4;

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
    // Every scope is its own stream (its own cursor and pages), so they run side by side; they share
    // the connector's HTTP client and with it the tracker's rate limiter and concurrency window. A
    // failing scope stops only itself.
    let shared = Mutex::new(std::mem::replace(out, TrackerSync::named(&name)));
    let progress = Progress { bar, total: Mutex::new(0) };
    let scopes = connector.scopes();
    let (writer, writing) = Writer::start(mirror.clone(), name.clone());
    let runs: Vec<Scope<'_>> = scopes
        .iter()
        .map(|scope| Scope {
            connector,
            mirror,
            writer: &writer,
            name: &name,
            scope,
            progress: &progress,
            out: &shared,
        })
        .collect();
    let results = join_all(runs.iter().map(|run| run.sync(full))).await;
    drop(runs);
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
            while let Some(Job { scope, commit, done }) = queue.blocking_recv() {
                let outcome = match &commit {
                    Commit::Page { items, cursor } => mirror.apply_page(&tracker, &scope, items, cursor),
                    Commit::Partition { index, items, state } => {
                        mirror.apply_partition_page(&tracker, &scope, *index, items, state)
                    }
                };
                // A stream that failed meanwhile no longer listens; its page is committed all the same.
                let _ = done.send(outcome);
            }
        });
        (Writer { jobs }, task)
    }

    /// Hand over one page of `scope`.
    fn commit(&self, scope: &str, commit: Commit) -> Committing {
        let pulled = match &commit {
            Commit::Page { items, .. } | Commit::Partition { items, .. } => items.len(),
        };
        let (done, receipt) = oneshot::channel();
        // When the writer is gone the receipt says so (its sender is dropped with the job).
        let _ = self.jobs.send(Job { scope: scope.to_string(), commit, done });
        Committing { pulled, done: receipt }
    }
}

/// One scope of one tracker being synced.
struct Scope<'a> {
    connector: &'a AnyConnector,
    mirror: &'a Mirror,
    writer: &'a Writer,
    name: &'a str,
    scope: &'a str,
    progress: &'a Progress<'a>,
    out: &'a Mutex<TrackerSync>,
}

impl Scope<'_> {
    /// A partitioned pull when one is under way (an interrupted first or full sync resumes, even under
    /// `--full`), the scope was never pulled, or `full`; otherwise an incremental stream from the cursor.
    async fn sync(&self, full: bool) -> Result<(), SyncError> {
        if let Some((plan, states)) = self.mirror.partitions(self.name, self.scope)? {
            return self.pull_partitions(plan, states).await;
        }
        match self.mirror.cursor(self.name, self.scope)? {
            Some(cursor) if !full => self.stream(cursor).await,
            _ => {
                let streams = self.connector.concurrency().max(1);
                let started = Utc::now();
                let split = self.connector.partition(self.scope, streams * PARTITIONS_PER_STREAM).await?;
                let plan = PartitionPlan { started, total: split.total, partitions: split.tokens.len() };
                let states = self.mirror.begin_partitions(self.name, self.scope, &plan, &split.tokens)?;
                self.pull_partitions(plan, states).await
            }
        }
    }

    fn record(&self, pulled: usize, outcome: PageOutcome) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.add_page(pulled, outcome);
        self.progress.pulled(pulled, &out, self.scope);
    }

    /// Pull every unfinished partition, `concurrency` at a time, then store the scope's cursor.
    async fn pull_partitions(&self, plan: PartitionPlan, states: Vec<PartitionState>) -> Result<(), SyncError> {
        if let Some(total) = plan.total {
            self.progress.add_total(total);
        }
        if let Some(bar) = self.progress.bar {
            bar.inc(states.iter().map(|s| s.pulled).sum());
        }
        let queue: Mutex<VecDeque<(usize, PartitionState)>> =
            Mutex::new(states.iter().cloned().enumerate().filter(|(_, s)| s.next.is_some()).collect());
        let done = Mutex::new(states);
        let worker = || async {
            loop {
                let next = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
                let Some((index, state)) = next else { return Ok::<_, SyncError>(()) };
                let state = self.pull_partition(index, state).await?;
                done.lock().unwrap_or_else(PoisonError::into_inner)[index] = state;
            }
        };
        try_join_all((0..self.connector.concurrency().max(1)).map(|_| worker())).await?;
        let states = done.into_inner().unwrap_or_else(PoisonError::into_inner);
        let cursor = partitioned_cursor(plan.started, &states);
        self.mirror.finish_partitions(self.name, self.scope, &cursor)?;
        Ok(())
    }

    /// Wait for a page's commit and count it.
    async fn settle(&self, committing: Option<Committing>) -> Result<(), SyncError> {
        let Some(Committing { pulled, done }) = committing else { return Ok(()) };
        let outcome = done.await.map_err(|_| SyncError::WriterStopped)??;
        self.record(pulled, outcome);
        Ok(())
    }

    /// Pull one partition to its end, each page committed with the partition's progress while the next
    /// one is pulled.
    async fn pull_partition(&self, index: usize, mut state: PartitionState) -> Result<PartitionState, SyncError> {
        let mut committing = None;
        while let Some(token) = state.next.take() {
            let page = self.connector.pull_page(self.scope, &Cursor::default(), Some(&token)).await;
            self.settle(committing.take()).await?;
            let page = page?;
            for item in &page.items {
                state.cursor.advance(item);
            }
            state.next = page.next;
            state.pulled += page.items.len() as u64;
            let commit = Commit::Partition { index, items: page.items, state: state.clone() };
            committing = Some(self.writer.commit(self.scope, commit));
        }
        self.settle(committing).await?;
        Ok(state)
    }

    /// Pull the scope from `cursor` to its end, one page after the other, each page committed with its
    /// cursor while the next one is pulled (asked for with the cursor advanced over this one, as the
    /// connectors expect).
    async fn stream(&self, mut cursor: Cursor) -> Result<(), SyncError> {
        let (connector, scope) = (self.connector, self.scope);
        let (mut token, mut committing) = (None::<String>, None);
        loop {
            let page = connector.pull_page(scope, &cursor, token.as_deref()).await;
            self.settle(committing.take()).await?;
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
                None => return self.settle(committing).await,
            }
        }
    }
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
