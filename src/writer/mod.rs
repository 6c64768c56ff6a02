//! One writer per tracker pair: the writer lease.
//!
//! Two instances of twotrack against the same trackers (separate mirrors: an operator's mistake, or a
//! failover) share nothing but the trackers, and both writing duplicates twins. So the instance that
//! writes announces itself in every tracker it writes to: a heartbeat ([`WriterBeat`]: its instance id,
//! host, pid, when it started and claimed, its last beat and TTL) stored under one lease name (Jira: a
//! property of the write project; ServiceNow: a `sys_properties` row). An instance:
//!
//! - **claims** before the first write of a run (`apply --yes`, the daemon's apply and follow-back jobs):
//!   it reads every tracker's heartbeat and refuses ([`WriterError::Held`]) when another instance's is
//!   fresh; a stale one (older than its TTL) is taken over, and so is a fresh one with `--take-over`
//!   (both logged). Then it writes its own heartbeat everywhere, waits [`SETTLE`] and reads back. Neither
//!   tracker offers a conditional write, so racing claims are decided on the read-back: the earliest
//!   claim wins ([`lease::decide`]), and the loser backs off before writing anything. A read-back that
//!   shows the claim everywhere is confirmed by one more, a round later: two claims that started
//!   together may both have been read back showing the later one (its writes landed last), and only the
//!   earlier one's rewrite, which lands within that round, tells the later claimant that it lost.
//! - **renews** every third of the TTL while it writes ([`Writer::start_heartbeat`]); a renewal that finds
//!   another instance's fresh heartbeat has lost the lease, and stops writing.
//! - **releases** on a clean exit: its heartbeat is marked released, and another instance may write at once.
//!
//! Reads (sync, audit) never need the lease. The remaining window: a claimant that read the trackers
//! before another's claim landed and writes its own after that other's read-back (a request slower
//! than [`SETTLE`]) makes both believe they hold the lease until the next renewal (a third of the TTL)
//! shows the later one its loss (README, "One writer per tracker pair").

pub mod lease;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use twotrack_api::Connector;
use twotrack_api::connector::WriterBeat;

use crate::config::Config;
use crate::mirror::{Mirror, MirrorError};
use crate::registry::Registry;
use lease::{Claim, Seen};

/// How long a claim waits for racing claims to land before reading back.
pub const SETTLE: Duration = Duration::from_millis(500);

/// Read-backs before a contested claim gives up (a claim that wins uncontested takes two: the second
/// confirms the first).
const ROUNDS: usize = 5;

/// Why an instance may not write.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// Another instance's fresh heartbeat.
    #[error(
        "another twotrack instance writes to these trackers: instance {} on host {} (pid {}, started {}) holds \
         the writer lease in {tracker}; its last heartbeat was at {}, fresh until {}. Stop that instance, or \
         wait until its heartbeat expires (policy.writer_ttl_seconds), or, if it is gone for good (a failover), \
         run `twotrack apply --yes --take-over`",
        holder.instance,
        holder.host,
        holder.pid,
        holder.started.to_rfc3339(),
        holder.beat.to_rfc3339(),
        lease::expires(holder).to_rfc3339()
    )]
    Held { tracker: String, holder: Box<WriterBeat> },
    /// Reading or writing a heartbeat failed.
    #[error("the writer heartbeat in {tracker}: {source}")]
    Tracker {
        tracker: String,
        #[source]
        source: twotrack_api::ConnectorError,
    },
    #[error(transparent)]
    Mirror(#[from] MirrorError),
}

impl WriterError {
    /// Another instance holds the lease (as opposed to a tracker or mirror failure).
    pub fn is_held(&self) -> bool {
        matches!(self, WriterError::Held { .. })
    }
}

/// Who this process is.
#[derive(Debug, Clone)]
struct Me {
    instance: String,
    host: String,
    pid: u32,
    started: DateTime<Utc>,
}

/// This process as the (would-be) writer of the configured trackers.
pub struct Writer {
    /// The lease's name in every tracker.
    name: String,
    ttl_seconds: u64,
    me: Me,
    /// This instance's heartbeat while it holds the lease.
    held: Mutex<Option<WriterBeat>>,
    /// Whether a renewal task runs.
    beating: Mutex<bool>,
    /// Set when a renewal found that another instance took the lease.
    lost: watch::Sender<Option<Arc<String>>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("name", &self.name).field("instance", &self.me.instance).finish_non_exhaustive()
    }
}

/// The lease name of a set of trackers: the same for every instance configured against the same
/// trackers (their base URLs, whatever they are called in each configuration).
pub fn lease_name(config: &Config) -> String {
    let mut urls: Vec<String> =
        config.trackers.iter().map(|t| t.base_url.as_str().trim_end_matches('/').to_ascii_lowercase()).collect();
    urls.sort();
    urls.dedup();
    let digest = Sha256::digest(urls.join("\n").as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("twotrack.writer.{hex}")
}

/// The random id of the instance a mirror belongs to, made on first use and kept in the mirror.
pub fn instance_id(mirror: &Mirror) -> Result<String, MirrorError> {
    use std::hash::{BuildHasher, Hasher};
    let fresh = {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or_default() as u128);
        h.write_u32(std::process::id());
        format!("{:016x}", h.finish())
    };
    let stored =
        mirror.records("writer")?.update("instance", |old: Option<String>| old.or_else(|| Some(fresh.clone())))?;
    Ok(stored.unwrap_or(fresh))
}

/// This machine's host name (Linux: the kernel's; else `$HOSTNAME`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

impl Writer {
    /// The writer of `config`'s trackers, as the instance of `mirror`.
    pub fn new(config: &Config, mirror: &Mirror) -> Result<Writer, WriterError> {
        let me = Me { instance: instance_id(mirror)?, host: host_name(), pid: std::process::id(), started: Utc::now() };
        Ok(Writer {
            name: lease_name(config),
            ttl_seconds: config.policy.writer_ttl_seconds,
            me,
            held: Mutex::new(None),
            beating: Mutex::new(false),
            lost: watch::channel(None).0,
        })
    }

    /// The lease's name in the trackers.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<WriterBeat>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this instance holds the lease (as of its last claim or renewal).
    pub fn holds(&self) -> bool {
        self.held().is_some()
    }

    fn beat(&self, claimed: DateTime<Utc>, now: DateTime<Utc>) -> WriterBeat {
        WriterBeat {
            instance: self.me.instance.clone(),
            host: self.me.host.clone(),
            pid: self.me.pid,
            started: self.me.started,
            claimed,
            beat: now,
            ttl_seconds: self.ttl_seconds,
            released: false,
        }
    }

    async fn read(&self, registry: &Registry) -> Result<Vec<(String, Option<WriterBeat>)>, WriterError> {
        let mut found = Vec::new();
        for (tracker, c) in registry.iter() {
            let beat = c
                .read_beat(&self.name)
                .await
                .map_err(|source| WriterError::Tracker { tracker: tracker.to_string(), source })?;
            found.push((tracker.to_string(), beat));
        }
        Ok(found)
    }

    async fn write(&self, registry: &Registry, tracker: &str, beat: &WriterBeat) -> Result<(), WriterError> {
        let Some(c) = registry.get(tracker) else { return Ok(()) };
        c.write_beat(&self.name, beat)
            .await
            .map_err(|source| WriterError::Tracker { tracker: tracker.to_string(), source })
    }

    /// Hold the lease for this run's writes: renew it when held, claim it otherwise.
    pub async fn hold(&self, registry: &Registry, take_over: bool) -> Result<(), WriterError> {
        if self.holds() { self.renew(registry).await } else { self.claim(registry, take_over).await }
    }

    /// Claim the lease in every tracker (see the module documentation). `take_over` takes a fresh
    /// heartbeat of another instance too (a failover: that instance is known to be gone).
    pub async fn claim(&self, registry: &Registry, take_over: bool) -> Result<(), WriterError> {
        let now = Utc::now();
        let mut overridden = Vec::new();
        for (tracker, found) in self.read(registry).await? {
            match lease::judge(found.as_ref(), &self.me.instance, now) {
                Seen::Free | Seen::Mine => {}
                Seen::Stale(old) => {
                    tracing::warn!(
                        %tracker, instance = %old.instance, host = %old.host, pid = old.pid,
                        last_beat = %old.beat.to_rfc3339(),
                        "taking over the writer lease: the other instance's heartbeat is stale"
                    );
                }
                Seen::Held(holder) if take_over => {
                    tracing::warn!(
                        %tracker, instance = %holder.instance, host = %holder.host, pid = holder.pid,
                        "taking over the writer lease from a live heartbeat (--take-over)"
                    );
                    overridden.push(holder.instance);
                }
                Seen::Held(holder) => return Err(WriterError::Held { tracker, holder: Box::new(holder) }),
            }
        }
        let mine = self.beat(now, now);
        let trackers: Vec<String> = registry.iter().map(|(t, _)| t.to_string()).collect();
        let mut pending: Vec<String> = trackers.clone();
        let mut settle = SETTLE;
        // Set once a read-back showed this claim everywhere: it holds if one more round later it still does.
        let mut shown = false;
        for _ in 0..ROUNDS {
            let began = std::time::Instant::now();
            for tracker in &pending {
                self.write(registry, tracker, &mine).await?;
            }
            tokio::time::sleep(settle).await;
            let read = self.read(registry).await?;
            // With --take-over, the instance taken over is not a competitor (it stops at its next renewal).
            let beats: Vec<Option<WriterBeat>> =
                read.iter().map(|(_, b)| b.clone().filter(|b| !overridden.contains(&b.instance))).collect();
            match lease::decide(&beats, &mine, Utc::now()) {
                Claim::Won if shown => {
                    tracing::info!(lease = %self.name, instance = %self.me.instance, "claimed the writer lease");
                    *self.held() = Some(mine);
                    self.lost.send_replace(None);
                    return Ok(());
                }
                Claim::Won => {
                    // Claims that started together may each have been read back showing only the later
                    // one (its writes landed last everywhere): the earlier claimant then writes its
                    // claim again, which lands within about one of this claim's rounds. Look once more
                    // after such a round, writing nothing.
                    shown = true;
                    pending = Vec::new();
                    settle = began.elapsed().max(SETTLE);
                }
                Claim::Lost(holder) => {
                    let tracker = read
                        .iter()
                        .find(|(_, b)| b.as_ref().is_some_and(|b| b.instance == holder.instance))
                        .map(|(t, _)| t.clone())
                        .unwrap_or_default();
                    return Err(WriterError::Held { tracker, holder: Box::new(holder) });
                }
                Claim::Rewrite(indices) => {
                    shown = false;
                    settle = SETTLE;
                    pending = indices.into_iter().map(|i| read[i].0.clone()).collect();
                }
            }
        }
        let read = self.read(registry).await?;
        match read.into_iter().find_map(|(t, b)| b.filter(|b| b.instance != self.me.instance).map(|b| (t, b))) {
            Some((tracker, holder)) => Err(WriterError::Held { tracker, holder: Box::new(holder) }),
            None => {
                *self.held() = Some(mine);
                Ok(())
            }
        }
    }

    /// Renew the heartbeat in every tracker. A tracker showing another instance's fresh heartbeat means
    /// the lease was lost: this instance stops writing ([`WriterError::Held`]).
    pub async fn renew(&self, registry: &Registry) -> Result<(), WriterError> {
        let Some(claimed) = self.held().as_ref().map(|b| b.claimed) else {
            return self.claim(registry, false).await;
        };
        let now = Utc::now();
        for (tracker, found) in self.read(registry).await? {
            if let Seen::Held(holder) = lease::judge(found.as_ref(), &self.me.instance, now) {
                *self.held() = None;
                tracing::error!(
                    %tracker, instance = %holder.instance, host = %holder.host, pid = holder.pid,
                    "lost the writer lease to another instance: no more writes"
                );
                let error = WriterError::Held { tracker, holder: Box::new(holder) };
                self.lost.send_replace(Some(Arc::new(error.to_string())));
                return Err(error);
            }
        }
        let beat = self.beat(claimed, now);
        for (tracker, _) in registry.iter() {
            self.write(registry, tracker, &beat).await?;
        }
        *self.held() = Some(beat);
        Ok(())
    }

    /// Release the lease on a clean exit: each tracker that still shows this instance's heartbeat gets
    /// it marked released. Failures are logged (the heartbeat then expires after its TTL).
    pub async fn release(&self, registry: &Registry) {
        let Some(mut beat) = self.held().take() else { return };
        beat.beat = Utc::now();
        beat.released = true;
        let found = match self.read(registry).await {
            Ok(found) => found,
            Err(e) => return tracing::warn!(error = %e, "could not release the writer lease; it expires after its TTL"),
        };
        for (tracker, current) in found {
            if current.is_some_and(|c| c.instance == self.me.instance)
                && let Err(e) = self.write(registry, &tracker, &beat).await
            {
                tracing::warn!(error = %e, "could not release the writer lease; it expires after its TTL");
            }
        }
        tracing::info!(lease = %self.name, "released the writer lease");
    }

    /// Renew the lease every third of its TTL while it is held, in a background task (one at a time).
    /// It ends when the lease is released or lost; a renewal that fails for another reason (a tracker
    /// briefly unreachable) is logged and tried again at the next beat.
    pub fn start_heartbeat(self: &Arc<Self>, registry: Registry) {
        {
            let mut beating = self.beating.lock().unwrap_or_else(PoisonError::into_inner);
            if *beating {
                return;
            }
            *beating = true;
        }
        let writer = Arc::clone(self);
        let period = Duration::from_secs((self.ttl_seconds / 3).max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                if !writer.holds() {
                    break;
                }
                match writer.renew(&registry).await {
                    Ok(()) => {}
                    Err(e) if e.is_held() => break,
                    Err(e) => tracing::warn!(error = %e, "could not renew the writer heartbeat; trying again"),
                }
            }
            *writer.beating.lock().unwrap_or_else(PoisonError::into_inner) = false;
        });
    }

    /// Resolves when a renewal finds the lease taken by another instance, with its message.
    pub async fn lost(&self) -> String {
        let mut rx = self.lost.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(message) => message.as_deref().cloned().unwrap_or_default(),
            Err(_) => std::future::pending().await,
        }
    }
}
