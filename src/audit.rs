//! The dry-run audit: classify every open item of the mirror and build the report. Writes nothing to
//! any tracker.
//!
//! Classification is the costly part and is pure, so it runs on every core: one thread streams open
//! items out of the mirror in chunks, and each chunk is classified in parallel, in order, then added to
//! the report on the calling thread. The report is the same whatever the number of cores.

use std::sync::mpsc;

use chrono::{SecondsFormat, Utc};
use twotrack_api::Item;

use crate::classify::{Classifier, RulesError, Site};
use crate::config::Config;
use crate::mirror::{Mirror, MirrorError};
use crate::plan::{Assessment, Planner};
use crate::report::{Report, ReportBuilder};

/// Items per chunk handed from the reader to the classifiers.
const CHUNK: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error("the classification rules are invalid: {0}")]
    Rules(#[from] RulesError),
}

/// Build the classifier the configuration describes.
pub fn classifier(config: &Config) -> Result<Classifier, RulesError> {
    Classifier::new(&config.rules, &config.queues, &config.priority)
}

/// Learn the site from every item of the mirror (see [`crate::plan::learn_site`]).
pub fn learn_site(config: &Config, mirror: &Mirror, classifier: &Classifier) -> Result<Site, MirrorError> {
    let site = crate::plan::learn_site(config, classifier, mirror.items(None))?;
    match site.model.abstains() {
        Some(why) => tracing::info!(reason = why, "site model abstains: nothing will move, items are only reviewed"),
        None => {
            let (backlog, queue) = site.model.counts();
            tracing::debug!(backlog, queue, folds = site.model.folds(), "site model learned");
        }
    }
    Ok(site)
}

/// Audit the mirror (optionally one tracker) and return the report.
pub fn audit(config: &Config, mirror: &Mirror, tracker: Option<&str>) -> Result<Report, AuditError> {
    let classifier = classifier(config)?;
    let site = learn_site(config, mirror, &classifier)?;
    let planner = Planner::new(config, &classifier, &site);
    let mut builder = ReportBuilder::new(&planner, Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<Item>, MirrorError>>(2);
    let items = mirror.items(tracker);
    std::thread::scope(|s| -> Result<(), AuditError> {
        s.spawn(move || read_open(items, tx));
        for chunk in rx {
            for a in assess(&planner, chunk?, workers) {
                builder.add(&a);
            }
        }
        Ok(())
    })?;
    let mut report = builder.finish();
    report.totals.parked = crate::outbox::Outbox::open(mirror)?.parked_from(tracker)? as u64;
    for note in &report.notes {
        tracing::warn!("{note}");
    }
    Ok(report)
}

/// Send the open items in chunks; stop at the first error (after sending it) or when the receiver left.
fn read_open(
    items: impl Iterator<Item = Result<Item, MirrorError>>,
    tx: mpsc::SyncSender<Result<Vec<Item>, MirrorError>>,
) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for item in items {
        match item {
            Ok(item) if item.open => chunk.push(item),
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
        if chunk.len() == CHUNK && tx.send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))).is_err() {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(Ok(chunk));
    }
}

/// Assess a chunk on up to `workers` threads, keeping the input order.
fn assess(planner: &Planner<'_>, mut items: Vec<Item>, workers: usize) -> Vec<Assessment> {
    if workers <= 1 || items.len() < 512 {
        return items.into_iter().filter_map(|i| planner.assess(i)).collect();
    }
    let per = items.len().div_ceil(workers);
    let mut parts = Vec::with_capacity(workers);
    while items.len() > per {
        let rest = items.split_off(per);
        parts.push(std::mem::replace(&mut items, rest));
    }
    parts.push(items);
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || part.into_iter().filter_map(|i| planner.assess(i)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}
