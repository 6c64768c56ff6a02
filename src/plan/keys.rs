//! A set of items named by (tracker, key), asked about without putting a name together per question.

use std::collections::{BTreeMap, HashSet};

/// Items by tracker and key: the moves an audit leaves for later cycles, the reports a storm's
/// correction covers. Keys per tracker, so a lookup with two `&str` allocates nothing (a set of
/// `tracker:key` strings took one `format!` per question; an audit at 1,000,000 items per tracker asks
/// about every one of its 211,723 moves).
#[derive(Debug, Clone, Default)]
pub struct ItemKeys {
    keys: BTreeMap<Box<str>, HashSet<Box<str>>>,
    len: usize,
}

impl ItemKeys {
    pub fn insert(&mut self, tracker: &str, key: &str) {
        let keys = match self.keys.get_mut(tracker) {
            Some(keys) => keys,
            None => self.keys.entry(tracker.into()).or_default(),
        };
        self.len += usize::from(keys.insert(key.into()));
    }

    pub fn contains(&self, tracker: &str, key: &str) -> bool {
        self.keys.get(tracker).is_some_and(|keys| keys.contains(key))
    }

    /// How many items (each once).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::ItemKeys;

    #[test]
    fn items_are_held_once_each_by_tracker_and_key() {
        let mut keys = ItemKeys::default();
        for (tracker, key) in [("jira", "SHOP-2"), ("jira", "SHOP-2"), ("jira2", "SHOP-2"), ("jir", "aSHOP-2")] {
            keys.insert(tracker, key);
        }
        assert_eq!(keys.len(), 3);
        assert!(keys.contains("jira", "SHOP-2") && keys.contains("jira2", "SHOP-2"));
        assert!(
            !keys.contains("jira", "SHOP-20") && !keys.contains("jir", "SHOP-2") && !keys.contains("ji", "ra:SHOP-2")
        );
        assert!(ItemKeys::default().is_empty());
    }
}
