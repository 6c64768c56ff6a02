//! Cron schedules for the daemon: a pure `next_fire` and a small loop that drives one job.
//!
//! - A job never overlaps itself: the loop awaits the job before it looks for the next fire.
//! - A missed fire runs once, not N times: after a job (or after the machine slept), the next fire is
//!   computed from *now*, so every fire missed in between collapses into the one run that happens now.
//! - The wall clock is checked at least every [`MAX_TICK`], because a monotonic timer does not advance
//!   while a machine is suspended; a fire that passed during suspend is noticed within one tick.
//! - Failures back off exponentially (capped) on top of the schedule, and are reported by the caller.
//!   A job that stands by ([`JobFailure::stands_by`]: another instance holds the writer lease) is no
//!   failure: it runs again at its next fire, so a standby daemon takes over within one fire of the
//!   holder's lease going stale, not after a backoff of up to half an hour.
//! - The schedule arrives through a `watch` channel: a reloaded configuration's schedule takes effect at
//!   the next fire without restarting the loop (and without disturbing a running job).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;

/// The longest the loop sleeps before it looks at the wall clock again.
pub const MAX_TICK: Duration = Duration::from_secs(30);

/// A cron schedule in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub cron: cron::Schedule,
    pub tz: Tz,
}

impl Schedule {
    pub fn new(cron: cron::Schedule, tz: Tz) -> Self {
        Schedule { cron, tz }
    }

    /// The first fire strictly after `after`.
    pub fn next_fire(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&after.with_timezone(&self.tz)).next().map(|t| t.with_timezone(&Utc))
    }

    /// The `n`-th fire before `before` (1 = the last one), if the schedule has that many.
    pub fn previous_fire(&self, before: DateTime<Utc>, n: u32) -> Option<DateTime<Utc>> {
        let n = usize::try_from(n.max(1)).ok()?;
        self.cron.after(&before.with_timezone(&self.tz)).rev().nth(n - 1).map(|t| t.with_timezone(&Utc))
    }
}

/// Where the loop reads the time. Production uses the system clock; tests drive a clock tied to tokio's
/// (pausable) time, and can jump the wall clock to simulate a suspended machine.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A wall clock that advances with tokio's clock (so `tokio::time::pause` / `advance` drive it) plus an
/// adjustable jump.
pub struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
    jump: Mutex<chrono::Duration>,
}

impl TokioClock {
    pub fn new(base: DateTime<Utc>) -> Self {
        TokioClock { base, start: tokio::time::Instant::now(), jump: Mutex::new(chrono::Duration::zero()) }
    }

    /// Move the wall clock forward without moving tokio's clock (a machine waking from suspend).
    pub fn jump(&self, by: chrono::Duration) {
        let mut j = self.jump.lock().unwrap_or_else(|e| e.into_inner());
        *j += by;
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default();
        let jump = *self.jump.lock().unwrap_or_else(|e| e.into_inner());
        self.base + elapsed + jump
    }
}

/// Backoff after `failures` consecutive failures: 30s, 60s, 120s, ... capped at 30 minutes.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let secs = 30u64.saturating_mul(1u64 << (failures - 1).min(16));
    Duration::from_secs(secs.min(30 * 60))
}

/// How a job's error counts for the schedule.
pub trait JobFailure: std::fmt::Display {
    /// The job did not fail: it stood by for a reason that passes on its own (another instance holds
    /// the writer lease). No backoff; logged once when the job starts standing by.
    fn stands_by(&self) -> bool {
        false
    }
}

/// Run `job` on the schedule in `schedule` until `shutdown` turns true. The job's `Err` counts as a failure
/// for backoff (the caller reports it), unless the job [stands by](JobFailure::stands_by). A new value in `schedule` (a configuration reload) takes effect
/// at once: the next fire is recomputed, a running job is not disturbed. Returns when shutdown is
/// requested (a running job is awaited first: it finishes its step).
pub async fn drive<F, Fut, E>(
    name: &str,
    mut schedule: watch::Receiver<Schedule>,
    clock: &dyn Clock,
    mut shutdown: watch::Receiver<bool>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: JobFailure,
{
    let mut failures: u32 = 0;
    let mut standing_by = false;
    let mut not_before = clock.now();
    // Once the sender is gone the schedule can no longer change: stop watching it.
    let mut watching = true;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let mut from = clock.now().max(not_before);
        // Wait for the fire time by the wall clock, looking at it at least every MAX_TICK.
        let fire = loop {
            let current = schedule.borrow_and_update().clone();
            let Some(next) = current.next_fire(from) else {
                tracing::warn!(job = name, "the schedule has no future fire time; the job stops");
                return;
            };
            tracing::debug!(job = name, next = %next, "next fire");
            match wait_until(next, clock, &mut schedule, &mut watching, &mut shutdown).await {
                Wait::Fire => break next,
                // A new schedule counts from now: a reload does not make up for fires it would have had.
                Wait::Rescheduled => from = from.max(clock.now()),
                Wait::Shutdown => return,
            }
        };
        tracing::debug!(job = name, fire = %fire, "job starts");
        match job().await {
            Ok(()) => {
                failures = 0;
                if std::mem::take(&mut standing_by) {
                    tracing::info!(job = name, "no longer standing by");
                }
            }
            Err(e) if e.stands_by() => {
                failures = 0;
                if !std::mem::replace(&mut standing_by, true) {
                    tracing::info!(job = name, reason = %e, "standing by; the job runs again at its next fire");
                } else {
                    tracing::debug!(job = name, reason = %e, "still standing by");
                }
            }
            Err(e) => {
                standing_by = false;
                failures += 1;
                let delay = backoff(failures);
                tracing::error!(job = name, error = %e, failures, retry_in_s = delay.as_secs(), "job failed");
                not_before = clock.now() + chrono::Duration::from_std(delay).unwrap_or_default();
            }
        }
    }
}

/// How a wait for a fire time ended.
enum Wait {
    Fire,
    Rescheduled,
    Shutdown,
}

async fn wait_until(
    next: DateTime<Utc>,
    clock: &dyn Clock,
    schedule: &mut watch::Receiver<Schedule>,
    watching: &mut bool,
    shutdown: &mut watch::Receiver<bool>,
) -> Wait {
    loop {
        let now = clock.now();
        if now >= next {
            return Wait::Fire;
        }
        let wait = (next - now).to_std().unwrap_or(Duration::ZERO).min(MAX_TICK);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = schedule.changed(), if *watching => match changed {
                Ok(()) => return Wait::Rescheduled,
                Err(_) => *watching = false,
            },
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return Wait::Shutdown;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::str::FromStr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn every_minute() -> Schedule {
        Schedule::new(cron::Schedule::from_str("0 * * * * *").unwrap(), chrono_tz::UTC)
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 30).unwrap()
    }

    #[test]
    fn next_fire_is_strictly_after_and_respects_the_time_zone() {
        let s = every_minute();
        assert_eq!(s.next_fire(t0()), Some(Utc.with_ymd_and_hms(2026, 1, 1, 12, 1, 0).unwrap()));
        let at_fire = Utc.with_ymd_and_hms(2026, 1, 1, 12, 1, 0).unwrap();
        assert_eq!(s.next_fire(at_fire), Some(Utc.with_ymd_and_hms(2026, 1, 1, 12, 2, 0).unwrap()));
        // 09:00 every day in Berlin (UTC+1 in January) is 08:00 UTC.
        let nine = Schedule::new(cron::Schedule::from_str("0 0 9 * * *").unwrap(), chrono_tz::Europe::Berlin);
        assert_eq!(nine.next_fire(t0()), Some(Utc.with_ymd_and_hms(2026, 1, 2, 8, 0, 0).unwrap()));
        // Backwards: the last and the third-last fire before t0.
        assert_eq!(s.previous_fire(t0(), 1), Some(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()));
        assert_eq!(s.previous_fire(t0(), 3), Some(Utc.with_ymd_and_hms(2026, 1, 1, 11, 58, 0).unwrap()));
        assert_eq!(nine.previous_fire(t0(), 2), Some(Utc.with_ymd_and_hms(2025, 12, 31, 8, 0, 0).unwrap()));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(3), Duration::from_secs(120));
        assert_eq!(backoff(40), Duration::from_secs(1800));
    }

    /// A running `drive` loop under test.
    struct Harness {
        stop: watch::Sender<bool>,
        schedule: watch::Sender<Schedule>,
        runs: Arc<Mutex<Vec<DateTime<Utc>>>>,
        handle: tokio::task::JoinHandle<()>,
    }

    impl Harness {
        fn times(&self) -> Vec<String> {
            self.runs.lock().unwrap().iter().map(|t| t.format("%H:%M:%S").to_string()).collect()
        }

        async fn stop(self) {
            self.stop.send(true).unwrap();
            self.handle.await.unwrap();
        }
    }

    /// Spawn `drive` (every minute) with a job that records the wall-clock time of each run and takes
    /// `job_len`; it asserts that it never runs twice at once.
    /// How every run of the test job ends.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Ends {
        Ok,
        Fails,
        StandsBy,
    }

    struct TestFailure(Ends);

    impl std::fmt::Display for TestFailure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl JobFailure for TestFailure {
        fn stands_by(&self) -> bool {
            self.0 == Ends::StandsBy
        }
    }

    fn spawn(clock: Arc<TokioClock>, job_len: Duration, ends: Ends) -> Harness {
        let (stop, rx) = watch::channel(false);
        let (schedule, schedule_rx) = watch::channel(every_minute());
        let runs = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let (r, c, run) = (runs.clone(), clock.clone(), running.clone());
        let handle = tokio::spawn(async move {
            drive("test", schedule_rx, &*c.clone(), rx, move || {
                let (r, c, run) = (r.clone(), c.clone(), run.clone());
                async move {
                    let concurrent = run.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(concurrent, 0, "a job overlapped itself");
                    r.lock().unwrap().push(c.now());
                    tokio::time::sleep(job_len).await;
                    run.fetch_sub(1, Ordering::SeqCst);
                    if ends == Ends::Ok { Ok(()) } else { Err(TestFailure(ends)) }
                }
            })
            .await
        });
        Harness { stop, schedule, runs, handle }
    }

    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fires_at_the_right_instants() {
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(1), Ends::Ok);
        tokio::time::sleep(Duration::from_secs(200)).await;
        settle().await;
        assert_eq!(h.times(), ["12:01:00", "12:02:00", "12:03:00"]);
        h.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_job_never_overlaps_and_skipped_fires_collapse() {
        // The job takes 150 s: the fires at 12:02 and 12:03 pass while it runs.
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(150), Ends::Ok);
        tokio::time::sleep(Duration::from_secs(30 + 150 + 60)).await;
        settle().await;
        // 12:01 runs until 12:03:30; the next fire after that is 12:04.
        assert_eq!(h.times(), ["12:01:00", "12:04:00"]);
        h.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_misfire_after_suspend_runs_once() {
        let clock = Arc::new(TokioClock::new(t0()));
        let h = spawn(clock.clone(), Duration::from_secs(1), Ends::Ok);
        tokio::time::sleep(Duration::from_secs(31)).await; // 12:01:01, one run
        settle().await;
        assert_eq!(h.times().len(), 1);
        // The machine sleeps for an hour: the wall clock jumps, tokio's clock does not.
        clock.jump(chrono::Duration::hours(1));
        tokio::time::sleep(MAX_TICK + Duration::from_secs(1)).await;
        settle().await;
        assert_eq!(h.times().len(), 2, "sixty missed fires must run once, not sixty times");
        // And the loop is back on the minute grid afterwards.
        tokio::time::sleep(Duration::from_secs(60)).await;
        settle().await;
        let times = h.times();
        assert_eq!(times.len(), 3);
        assert!(times[2].ends_with(":00"), "{times:?}");
        h.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off() {
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(1), Ends::Fails);
        tokio::time::sleep(Duration::from_secs(30 + 5 * 60)).await;
        settle().await;
        // Fails at 12:01 -> not before 12:01:31 -> 12:02; fails -> +60s -> 12:04; fails -> +120s -> 12:07.
        assert_eq!(h.times(), ["12:01:00", "12:02:00", "12:04:00"]);
        h.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_standing_by_runs_at_every_fire_without_backoff() {
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(1), Ends::StandsBy);
        tokio::time::sleep(Duration::from_secs(30 + 5 * 60)).await;
        settle().await;
        assert_eq!(h.times(), ["12:01:00", "12:02:00", "12:03:00", "12:04:00", "12:05:00", "12:06:00"]);
        h.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_schedule_takes_effect_at_the_next_fire() {
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(1), Ends::Ok);
        tokio::time::sleep(Duration::from_secs(45)).await; // 12:01:15, one run; next fire 12:02:00
        settle().await;
        assert_eq!(h.times(), ["12:01:00"]);
        // Reload: every 10 seconds from now on.
        let every_10s = Schedule::new(cron::Schedule::from_str("*/10 * * * * *").unwrap(), chrono_tz::UTC);
        h.schedule.send(every_10s).unwrap();
        tokio::time::sleep(Duration::from_secs(20)).await; // 12:01:35
        settle().await;
        assert_eq!(h.times(), ["12:01:00", "12:01:20", "12:01:30"]);
        h.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_a_running_job_to_finish() {
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(20), Ends::Ok);
        tokio::time::sleep(Duration::from_secs(35)).await; // 12:01:05, the job runs until 12:01:20
        settle().await;
        assert_eq!(h.times().len(), 1);
        h.stop.send(true).unwrap();
        let started = tokio::time::Instant::now();
        h.handle.await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(14) && waited <= Duration::from_secs(16), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_stops_a_waiting_loop_promptly() {
        let h = spawn(Arc::new(TokioClock::new(t0())), Duration::from_secs(1), Ends::Ok);
        settle().await;
        h.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(1), h.handle).await.expect("drive returns on shutdown").unwrap();
        assert!(h.runs.lock().unwrap().is_empty());
    }
}
