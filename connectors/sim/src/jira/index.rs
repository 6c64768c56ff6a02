//! The search index: what JQL searches see of the issues.
//!
//! Jira Cloud documents for `search/jql` and `search/approximate-count`: "Recent updates might not be
//! immediately visible in the returned search results. If you need read-after-write consistency, you can
//! utilize the `reconcileIssues` parameter" ("Strong consistency issue ids to be reconciled with search
//! results. Accepts max 50 ids"). With a lag ([`super::JiraOptions::search_lag`]), an issue created or
//! edited less than the lag ago is seen by search as it was before, and not at all if it is new; the
//! issues whose ids a search lists in `reconcileIssues` are seen as they are now. Reads by key (`GET
//! issue`), comments, properties and remote links read the store and are always current. Without a lag
//! (the default) search sees every write at once.
//!
//! Every write to an issue moves its `updated` (see [`super::store::Store::touch`]), so the index learns
//! of writes by comparing `updated` the next time the store is locked ([`SearchIndex::record`]): each
//! version is kept with the time it was written until the lag has passed, then becomes what search sees.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};

use super::store::Issue;

/// What search sees of one issue.
#[derive(Debug, Clone)]
struct Indexed {
    /// The version search sees (`None`: the issue is too new to be found).
    base: Option<Issue>,
    /// Versions written since, with their write time, oldest first.
    pending: VecDeque<(DateTime<Utc>, Issue)>,
    /// `updated` of the newest version recorded.
    seen: DateTime<Utc>,
}

/// The lagging view of the issues that searches read.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    lag: Duration,
    /// One entry per stored issue (same index), while the lag is on.
    issues: Vec<Indexed>,
}

impl SearchIndex {
    /// The lag, and the current `issues` as what search sees from now on.
    pub fn set_lag(&mut self, lag: Duration, issues: &[Issue]) {
        self.lag = lag.max(Duration::zero());
        self.issues.clear();
        if self.lag > Duration::zero() {
            self.issues = issues
                .iter()
                .map(|i| Indexed { base: Some(i.clone()), pending: VecDeque::new(), seen: i.updated })
                .collect();
        }
    }

    pub fn lag(&self) -> Duration {
        self.lag
    }

    /// Note the writes made since the last call: new issues, and issues whose `updated` moved.
    pub fn record(&mut self, issues: &[Issue]) {
        if self.lag <= Duration::zero() {
            return;
        }
        for (idx, issue) in issues.iter().enumerate() {
            match self.issues.get_mut(idx) {
                Some(indexed) if indexed.seen == issue.updated => {}
                Some(indexed) => {
                    indexed.pending.push_back((issue.updated, issue.clone()));
                    indexed.seen = issue.updated;
                }
                None => self.issues.push(Indexed {
                    base: None,
                    pending: VecDeque::from([(issue.created, issue.clone())]),
                    seen: issue.updated,
                }),
            }
        }
    }

    /// Let search see every version written at least the lag before `now`.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        let horizon = now - self.lag;
        for indexed in &mut self.issues {
            while indexed.pending.front().is_some_and(|(at, _)| *at <= horizon) {
                indexed.base = indexed.pending.pop_front().map(|(_, issue)| issue);
            }
        }
    }

    /// The issue at `idx` as search sees it (call [`SearchIndex::settle`] first): `live` itself without a
    /// lag or when its id is in `reconcile`.
    pub fn view<'a>(&'a self, idx: usize, live: &'a Issue, reconcile: &HashSet<u64>) -> Option<&'a Issue> {
        if self.lag <= Duration::zero() || reconcile.contains(&live.id) {
            return Some(live);
        }
        match self.issues.get(idx) {
            Some(indexed) => indexed.base.as_ref(),
            None => Some(live),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog;
    use super::super::store::{Store, User};
    use super::*;

    fn store_with(n: usize, at: DateTime<Utc>) -> Store {
        let mut store = Store::new(&[("SHOP".into(), "Web Shop".into())], &[], &[]);
        for i in 0..n {
            store.create(0, &catalog::ISSUE_TYPES[3], format!("s{i}"), User::from_display_name("A"), at);
        }
        store
    }

    fn summaries(index: &SearchIndex, store: &Store, reconcile: &HashSet<u64>) -> Vec<String> {
        (0..store.issues.len())
            .filter_map(|i| index.view(i, &store.issues[i], reconcile).map(|v| v.summary.clone()))
            .collect()
    }

    #[test]
    fn writes_reach_search_after_the_lag_and_reconciled_ids_at_once() {
        let t0 = DateTime::parse_from_rfc3339("2024-01-15T10:00:00Z").unwrap().to_utc();
        let mut store = store_with(1, t0);
        let mut index = SearchIndex::default();
        index.set_lag(Duration::seconds(5), &store.issues);
        let none = HashSet::new();

        let t1 = t0 + Duration::seconds(1);
        store.create(0, &catalog::ISSUE_TYPES[3], "new".into(), User::from_display_name("A"), t1);
        store.issues[0].summary = "edited".into();
        store.touch(0, t1);
        index.record(&store.issues);
        index.settle(t1 + Duration::seconds(4));
        assert_eq!(summaries(&index, &store, &none), ["s0"], "within the lag: as before, the new one unseen");
        let new_id = store.issues[1].id;
        assert_eq!(summaries(&index, &store, &HashSet::from([new_id])), ["s0", "new"], "reconciled: as it is now");
        index.settle(t1 + Duration::seconds(5));
        assert_eq!(summaries(&index, &store, &none), ["edited", "new"], "after the lag: every write");

        index.set_lag(Duration::zero(), &store.issues);
        store.issues[0].summary = "again".into();
        store.touch(0, t1 + Duration::seconds(6));
        index.record(&store.issues);
        assert_eq!(summaries(&index, &store, &none), ["again", "new"], "no lag: at once");
    }
}
