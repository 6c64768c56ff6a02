//! What humans decide after a move, and how it wins.
//!
//! Once twotrack moved an item (created its twin in the other tracker and closed the original), two
//! human acts say the move is disputed, and twotrack never moves either side again:
//!
//! - **Reopened after move**: the original is open again (its reporter, or anyone, reopened it after
//!   twotrack closed it). While the twin is open too, the same request lives twice: a duplicate pair that
//!   someone has to close one side of.
//! - **Returned by a human**: the twin was sent back as not belonging where twotrack put it. A twin
//!   counts as returned when it carries the return marker (`policy.return_label`, default
//!   [`RETURN_LABEL`]: a Jira label; in ServiceNow a `#twotrack-return` hashtag line of the description,
//!   like the keep marker), open or closed, or when it is closed with one of the returning resolutions
//!   (`policy.return_resolutions`, default [`RETURN_RESOLUTIONS`]: the Jira resolution's name, the
//!   ServiceNow close code; case-insensitive). Other resolutions do not: "Won't Do" or "Declined" decide
//!   about the work where it sits, and "Duplicate" says the work already lives in that tracker.
//!
//! Both are human decisions the site model learns from (see [`site_label`]), and both are reported.

use std::collections::HashMap;

use serde::Serialize;
use twotrack_api::Item;

use super::is_twin;
use crate::classify::site::Label;
use crate::config::Config;

/// The default marker by which a human sends a twin back: "this is not ours, it belongs where it came from".
pub const RETURN_LABEL: &str = "twotrack-return";

/// The default resolutions (Jira) and close codes (ServiceNow) that return a closed twin. Vendors ship
/// none of these: an administrator who wants agents to return twins by resolution adds one to the choice
/// list, or names the instance's own in `policy.return_resolutions`.
pub const RETURN_RESOLUTIONS: [&str; 5] = ["Misfiled", "Not ours", "Wrong tracker", "Returned", "Rejected"];

/// How a human returns a twin (`policy.return_label`, `policy.return_resolutions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Returns {
    /// The return marker.
    #[serde(rename = "return_label")]
    pub label: String,
    /// Resolutions and close codes that return a closed twin (compared case-insensitively).
    #[serde(rename = "return_resolutions")]
    pub resolutions: Vec<String>,
}

impl Default for Returns {
    fn default() -> Self {
        Returns { label: RETURN_LABEL.into(), resolutions: RETURN_RESOLUTIONS.iter().map(|r| r.to_string()).collect() }
    }
}

impl Returns {
    /// Whether a twin was returned by a human (see the module documentation).
    pub fn is_returned(&self, item: &Item) -> bool {
        is_twin(item)
            && (item.has_label(&self.label)
                || (!item.open
                    && item.resolution().is_some_and(|r| self.resolutions.iter().any(|x| x.eq_ignore_ascii_case(r)))))
    }
}

/// What a human did after a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HumanDecision {
    /// The original was reopened after twotrack closed it (and its twin was not returned).
    Reopened,
    /// The twin was returned as not belonging where twotrack put it.
    Returned,
}

impl HumanDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            HumanDecision::Reopened => "reopened after move",
            HumanDecision::Returned => "returned by a human",
        }
    }
}

/// One side of a move, as the mirror holds it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub tracker: String,
    pub key: String,
    pub url: String,
    pub open: bool,
    /// The status as the tracker shows it ("" where the mirror does not hold the item yet).
    pub status: String,
    pub resolution: Option<String>,
}

impl Side {
    pub fn of(item: &Item) -> Side {
        Side {
            tracker: item.tracker.clone(),
            key: item.key.clone(),
            url: item.url.clone(),
            open: item.open,
            status: item.status.clone(),
            resolution: item.resolution().map(str::to_string),
        }
    }

    /// A side the mirror does not hold yet (a twin created since the last sync): taken as open.
    pub fn unseen(tracker: &str, key: &str, url: &str) -> Side {
        Side {
            tracker: tracker.into(),
            key: key.into(),
            url: url.into(),
            open: true,
            status: String::new(),
            resolution: None,
        }
    }

    /// "servicenow INC0010001 (closed: Misfiled)".
    fn describe(&self) -> String {
        let state = match (self.open, &self.resolution) {
            (true, _) if self.status.is_empty() => "open".to_string(),
            (true, _) => format!("open: {}", self.status),
            (false, Some(r)) => format!("closed: {r}"),
            (false, None) => format!("closed: {}", self.status),
        };
        format!("{} {} ({state})", self.tracker, self.key)
    }
}

/// One move twotrack made, original -> twin, with both sides as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub original: Side,
    pub twin: Side,
    /// The twin was returned ([`Returns::is_returned`]).
    pub returned: bool,
}

impl Moved {
    /// A move of `original` to `twin`, both as the mirror holds them.
    pub fn new(returns: &Returns, original: &Item, twin: &Item) -> Moved {
        Moved { original: Side::of(original), twin: Side::of(twin), returned: returns.is_returned(twin) }
    }

    /// A move whose twin the mirror does not hold yet ([`Side::unseen`]).
    pub fn before_sync(original: &Item, twin: Side) -> Moved {
        Moved { original: Side::of(original), twin, returned: false }
    }

    /// What a human did after the move, if anything.
    pub fn decision(&self) -> Option<HumanDecision> {
        if self.returned {
            Some(HumanDecision::Returned)
        } else if self.original.open {
            Some(HumanDecision::Reopened)
        } else {
            None
        }
    }

    /// Both sides open: the same request lives in both trackers.
    pub fn duplicate(&self) -> bool {
        self.original.open && self.twin.open
    }

    /// What someone should do about it, if anything.
    pub fn advice(&self) -> Option<&'static str> {
        if self.duplicate() {
            Some("both are open, a duplicate pair: close one of them")
        } else if self.returned && !self.original.open {
            Some("the original is still closed: reopen it where it belongs")
        } else {
            None
        }
    }

    /// The report's from -> to: the original, then the twin, each with its state and what to do.
    pub fn from_to(&self) -> (String, String) {
        let what = self.decision().map_or("moved", HumanDecision::as_str);
        let advice = self.advice().map(|a| format!("; {a}")).unwrap_or_default();
        (format!("original {} ({what})", self.original.describe()), format!("twin {}{advice}", self.twin.describe()))
    }

    /// One line: "reopened after move: original jira SHOP-12 (open: To Do) -> twin servicenow
    /// INC0010001 (open: New); both are open, a duplicate pair: close one of them".
    pub fn describe(&self) -> String {
        let what = self.decision().map_or("moved", HumanDecision::as_str);
        let advice = self.advice().map(|a| format!("; {a}")).unwrap_or_default();
        format!("{what}: original {} -> twin {}{advice}", self.original.describe(), self.twin.describe())
    }
}

/// The moves twotrack made, by either side.
#[derive(Debug, Clone, Default)]
pub struct Moves {
    pairs: Vec<Moved>,
    by_original: HashMap<(String, String), usize>,
    by_twin: HashMap<(String, String), usize>,
}

fn id(tracker: &str, key: &str) -> (String, String) {
    (tracker.to_string(), key.to_ascii_uppercase())
}

impl Moves {
    pub fn new(pairs: impl IntoIterator<Item = Moved>) -> Moves {
        let mut moves = Moves::default();
        for m in pairs {
            let i = moves.pairs.len();
            moves.by_original.insert(id(&m.original.tracker, &m.original.key), i);
            moves.by_twin.insert(id(&m.twin.tracker, &m.twin.key), i);
            moves.pairs.push(m);
        }
        moves
    }

    /// The move of which `item` is the original.
    pub fn of_original(&self, item: &Item) -> Option<&Moved> {
        self.by_original.get(&id(&item.tracker, &item.key)).map(|&i| &self.pairs[i])
    }

    /// The move of which `item` is the twin.
    pub fn of_twin(&self, item: &Item) -> Option<&Moved> {
        self.by_twin.get(&id(&item.tracker, &item.key)).map(|&i| &self.pairs[i])
    }

    /// The moves a human acted on after they were made, in the order they were given.
    pub fn decided(&self) -> impl Iterator<Item = &Moved> {
        self.pairs.iter().filter(|m| m.decision().is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// What `item` teaches the site model ([`crate::classify::Site::learn_labelled`]):
///
/// | item | label |
/// |---|---|
/// | any item, by default | `Sits`: the role of the tracker it sits in, a noisy label |
/// | keep marker | `Decided`: a clean label of the tracker it sits in |
/// | a twin twotrack created (it stayed where it was put) | `Decided` |
/// | a twin returned by a human (open or closed) | `Returned`: a clean label of the *other* role, the tracker it was returned to, where its original sits |
/// | an original reopened after its move | `Decided`: it was reopened where it sits |
/// | a twin whose original was reopened (and which was not returned) | `Ignored`: the reopened original carries the human's word |
///
/// (Closed originals whose twin exists are left out by the site layer itself: they sat in the wrong
/// place.)
pub fn site_label(config: &Config, moves: &Moves, item: &Item) -> Label {
    label_with(&config.policy.keep_label, &config.policy.returns, moves, item)
}

/// [`site_label`] by the keep marker `keep_label` and the return markers `returns` (for a site read
/// without a configuration, or without an outbox: `twotrack classify --site`).
pub fn label_with(keep_label: &str, returns: &Returns, moves: &Moves, item: &Item) -> Label {
    if returns.is_returned(item) {
        return Label::Returned;
    }
    if is_twin(item) && moves.of_twin(item).is_some_and(|m| m.original.open) {
        return Label::Ignored;
    }
    let reopened = item.open && moves.of_original(item).is_some();
    if item.has_label(keep_label) || is_twin(item) || reopened { Label::Decided } else { Label::Sits }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use twotrack_api::field;

    use super::*;
    use crate::config::{Secrets, parse_with};

    fn config() -> Config {
        let token = r#"{ env = "TWOTRACK_TEST_UNSET_TOKEN" }"#;
        let text = &crate::config::two_trackers(token, token);
        parse_with(text, Path::new("twotrack.toml"), Secrets::Deferred).unwrap()
    }

    fn original(open: bool) -> Item {
        Item { open, ..Item::new("jira", "SHOP-12", "Database down") }
    }

    fn twin(open: bool, resolution: Option<&str>, labels: &[&str]) -> Item {
        let mut t = Item::new("sn", "INC0010001", "Database down");
        t.open = open;
        t.origin = Some("SHOP-12".into());
        t.labels = labels.iter().map(|l| l.to_string()).collect();
        if let Some(r) = resolution {
            t.fields.insert(field::RESOLUTION.into(), r.into());
        }
        t
    }

    #[test]
    fn a_twin_is_returned_by_the_marker_or_a_closing_resolution_that_says_so() {
        let is_returned = |item: &Item| Returns::default().is_returned(item);
        assert!(is_returned(&twin(true, None, &["twotrack-return"])), "the marker, open");
        assert!(is_returned(&twin(false, Some("misfiled"), &[])), "a returning resolution, any case");
        assert!(is_returned(&twin(false, Some("Not ours"), &[])));
        for kept in ["Solved (Permanently)", "Duplicate", "Won't Do", "Declined"] {
            assert!(!is_returned(&twin(false, Some(kept), &[])), "{kept} decides about the work where it sits");
        }
        assert!(!is_returned(&twin(true, Some("Misfiled"), &[])), "a stale code of an open twin returns nothing");
        assert!(!is_returned(&Item { labels: vec!["twotrack-return".into()], ..original(true) }), "not a twin");

        // An instance's own: its marker and its close code, in place of the defaults.
        let own = Returns { label: "not-ours".into(), resolutions: vec!["Misrouted".into()] };
        assert!(
            own.is_returned(&twin(true, None, &["not-ours"])) && own.is_returned(&twin(false, Some("misrouted"), &[]))
        );
        assert!(
            !own.is_returned(&twin(false, Some("Misfiled"), &[]))
                && !own.is_returned(&twin(true, None, &["twotrack-return"]))
        );
    }

    #[test]
    fn what_a_human_did_and_what_is_left_to_do() {
        let m = Moved::new(&Returns::default(), &original(true), &twin(true, None, &[]));
        assert_eq!(m.decision(), Some(HumanDecision::Reopened));
        assert!(m.duplicate());
        let line = m.describe();
        assert!(line.starts_with("reopened after move: original jira SHOP-12") && line.contains("close one"), "{line}");

        let m = Moved::new(&Returns::default(), &original(false), &twin(false, Some("Misfiled"), &[]));
        assert_eq!(m.decision(), Some(HumanDecision::Returned));
        let (from, to) = m.from_to();
        assert!(from.contains("SHOP-12") && from.contains("returned by a human"), "{from}");
        assert!(to.contains("INC0010001 (closed: Misfiled)") && to.contains("reopen it"), "{to}");

        assert_eq!(
            Moved::new(&Returns::default(), &original(false), &twin(true, None, &[])).decision(),
            None,
            "a move nobody disputed"
        );
        let unseen = Moved::before_sync(&original(true), Side::unseen("sn", "INC0010001", ""));
        assert!(unseen.duplicate(), "a twin not synced yet is taken as open");
    }

    #[test]
    fn the_clean_label_of_each_case() {
        let c = config();
        let label = |moves: &Moves, item: &Item| site_label(&c, moves, item);
        let none = Moves::default();
        assert_eq!(label(&none, &original(true)), Label::Sits, "by default");
        let t = twin(true, None, &[]);
        assert_eq!(label(&none, &t), Label::Decided, "a twin stays where it was put");

        // Returned: a clean label of the tracker it was returned to, open or closed.
        for returned in [twin(false, Some("Misfiled"), &[]), twin(true, None, &["twotrack-return"])] {
            let moves = Moves::new([Moved::new(&Returns::default(), &original(false), &returned)]);
            assert_eq!(label(&moves, &returned), Label::Returned);
        }

        // Reopened: the original is a clean label where it sits; its disputed open twin is left out.
        let moves = Moves::new([Moved::new(&Returns::default(), &original(true), &t)]);
        assert_eq!(label(&moves, &original(true)), Label::Decided);
        assert_eq!(label(&moves, &t), Label::Ignored);
    }
}
