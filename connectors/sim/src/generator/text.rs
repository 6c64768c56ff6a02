//! Turning a scenario into words: slot filling, the phrases that carry impact and urgency, and human noise.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::Kind;
use super::vocab::{self, Domain};

/// Picks one element of a non-empty slice.
pub(super) fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// What a filled template said about the truth, so that the generator can add what is missing.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Said {
    pub scope: bool,
    pub urgency: bool,
}

/// The state of one item being written: its domain, its truth levels, and the slot values chosen so far (a slot
/// keeps its value for the whole item, so the summary and the description talk about the same user or host).
pub(super) struct Ctx<'r> {
    pub rng: &'r mut ChaCha8Rng,
    pub domain: &'static Domain,
    pub kind: Kind,
    pub impact: u8,
    pub urgency: u8,
    /// The reporter's first name, for sign-offs.
    pub me: &'static str,
    pub said: Said,
    slots: Vec<(&'static str, String)>,
}

impl<'r> Ctx<'r> {
    pub(super) fn new(
        rng: &'r mut ChaCha8Rng,
        domain: &'static Domain,
        kind: Kind,
        levels: (u8, u8),
        me: &'static str,
    ) -> Self {
        Ctx { rng, domain, kind, impact: levels.0, urgency: levels.1, me, said: Said::default(), slots: Vec::new() }
    }

    /// Replaces every `{slot}` in `template`, appending to `out`.
    pub(super) fn render_into(&mut self, template: &'static str, out: &mut String) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    let value = self.slot(name);
                    out.push_str(&value);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
    }

    pub(super) fn render(&mut self, template: &'static str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        self.render_into(template, &mut out);
        out
    }

    fn slot(&mut self, name: &'static str) -> String {
        if let Some((_, value)) = self.slots.iter().find(|(n, _)| *n == name) {
            return value.clone();
        }
        let value = self.fill(name).unwrap_or_else(|| format!("{{{name}}}"));
        self.slots.push((name, value.clone()));
        value
    }

    /// A fresh value for a slot; `None` for an unknown name. A trailing digit names a second, independent value
    /// of the same slot (`{person2}`).
    pub(super) fn fill(&mut self, name: &'static str) -> Option<String> {
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
        let d = self.domain;
        let word = |rng: &mut ChaCha8Rng, list: &'static [&'static str]| pick(rng, list).to_string();
        let value = match base {
            "app" => word(self.rng, d.apps),
            "screen" => word(self.rng, d.screens),
            "feature" => word(self.rng, d.features),
            "calc" => word(self.rng, d.calcs),
            "segment" => word(self.rng, d.segments),
            "entity" => word(self.rng, d.entities),
            "field" => word(self.rng, d.fields),
            "edge" => word(self.rng, d.edges),
            "action" => word(self.rng, d.actions),
            "persona" => word(self.rng, d.personas),
            "event" => word(self.rng, d.events),
            "metric" => word(self.rng, d.metrics),
            "dashboard" => word(self.rng, d.dashboards),
            "class" => word(self.rng, d.classes),
            "user" => self.user_id(),
            "person" => self.person(),
            "dept" => word(self.rng, vocab::DEPTS),
            "site" => word(self.rng, vocab::SITES),
            "region" => word(self.rng, vocab::REGIONS),
            "host" => word(self.rng, vocab::HOSTS),
            "dbhost" => word(self.rng, vocab::DB_HOSTS),
            "db" => word(self.rng, vocab::DATABASES),
            "table" => word(self.rng, vocab::TABLES),
            "share" => word(self.rng, vocab::SHARES),
            "group" => word(self.rng, vocab::GROUPS),
            "list" => word(self.rng, vocab::MAILING_LISTS),
            "itapp" => word(self.rng, vocab::IT_APPS),
            "software" => word(self.rng, vocab::SOFTWARE),
            "device" => word(self.rng, vocab::DEVICES),
            "printer" => word(self.rng, vocab::PRINTERS),
            "cert" => word(self.rng, vocab::CERTS),
            "fqdn" => word(self.rng, vocab::FQDNS),
            "job" => word(self.rng, vocab::JOBS),
            "folder" => word(self.rng, vocab::FOLDERS),
            "howto" => word(self.rng, vocab::HOWTOS),
            "day" => word(self.rng, vocab::DAYS),
            "time" => word(self.rng, vocab::TIMES),
            "lang" => word(self.rng, vocab::LANGUAGES),
            "ext" => word(self.rng, vocab::EXT_SYSTEMS),
            "browser" => word(self.rng, vocab::BROWSERS),
            "project" => word(self.rng, vocab::PROJECTS),
            "n" => self.rng.random_range(2..20u32).to_string(),
            "big" => (self.rng.random_range(1..90u32) * 100).to_string(),
            "mb" => word(self.rng, &["25", "50", "100", "250", "500"]),
            "version" => self.version(),
            "order" => {
                format!("{}{}", pick(self.rng, &["#", "SO-", "", "ORD-"]), self.rng.random_range(100_000..999_999u32))
            }
            "ticket" => self.ticket(),
            "errcode" => word(self.rng, ERROR_CODES),
            "port" => word(self.rng, &["443", "5432", "1521", "8443", "22", "3306", "9092", "1433"]),
            "ip" => format!(
                "10.{}.{}.{}",
                self.rng.random_range(0..64u8),
                self.rng.random_range(0..255u8),
                self.rng.random_range(2..250u8)
            ),
            "asset" => format!("AST-{:05}", self.rng.random_range(0..100_000u32)),
            "empid" => format!("E{:06}", self.rng.random_range(0..1_000_000u32)),
            "custid" => format!("C-{}", self.rng.random_range(10_000..9_999_999u32)),
            "cc" => format!("{}", self.rng.random_range(1000..9999u32)),
            "scope" | "who" => self.level_phrase(true),
            "urg" | "when" => self.level_phrase(false),
            "expiry" => {
                self.said.urgency = true;
                let bank: &'static [&'static str] = match self.urgency {
                    1 => &["expires tomorrow", "expires on Friday, please hurry", "expires in 2 days"],
                    2 => &["expires in 10 days", "expires end of month"],
                    _ => &["expires in two months", "expires in the autumn, no rush"],
                };
                word(self.rng, bank)
            }
            "me" => self.me.to_string(),
            _ => return None,
        };
        Some(value)
    }

    fn level_phrase(&mut self, scope: bool) -> String {
        let bank = if scope {
            self.said.scope = true;
            phrases(self.kind, true, self.impact, false)
        } else {
            self.said.urgency = true;
            phrases(self.kind, false, self.urgency, false)
        };
        let template = *pick(self.rng, bank);
        self.render(template)
    }

    /// A whole sentence stating the impact (`scope`) or the urgency, for descriptions that did not say it.
    pub(super) fn level_sentence(&mut self, scope: bool) -> String {
        let level = if scope { self.impact } else { self.urgency };
        let template = *pick(self.rng, phrases(self.kind, scope, level, true));
        self.render(template)
    }

    pub(super) fn person(&mut self) -> String {
        format!("{} {}", pick(self.rng, vocab::FIRST_NAMES), pick(self.rng, vocab::LAST_NAMES))
    }

    fn user_id(&mut self) -> String {
        let first = pick(self.rng, vocab::FIRST_NAMES);
        let last = pick(self.rng, vocab::LAST_NAMES);
        match self.rng.random_range(0..4u8) {
            0 => format!("{}{}", first[..1].to_lowercase(), last.to_lowercase()),
            1 => format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
            2 => format!("{}{}{}", first[..1].to_lowercase(), last.to_lowercase(), self.rng.random_range(1..99u8)),
            _ => format!("{} {} ({}{})", first, last, first[..1].to_lowercase(), last.to_lowercase()),
        }
    }

    fn version(&mut self) -> String {
        format!(
            "{}.{}.{}",
            self.rng.random_range(1..9u8),
            self.rng.random_range(0..30u8),
            self.rng.random_range(0..12u8)
        )
    }

    fn ticket(&mut self) -> String {
        let prefix = pick(self.rng, &["INC00", "RITM00", "CS-", "SUP-", "CASE-"]);
        format!("{prefix}{}", self.rng.random_range(10_000..99_999u32))
    }
}

const ERROR_CODES: &[&str] = &[
    "502 Bad Gateway",
    "503 Service Unavailable",
    "504 Gateway Timeout",
    "connection refused",
    "ERR_CONNECTION_TIMED_OUT",
    "HTTP 500 on every page",
    "a blank page",
];

/// The phrase bank for one truth level. Incidents talk about whom an outage hits (`scope`) and how pressing it is;
/// requests about whom they are for and by when. `sentence` asks for a standalone sentence instead of a fragment.
fn phrases(kind: Kind, scope: bool, level: u8, sentence: bool) -> &'static [&'static str] {
    let incident = kind == Kind::Incident;
    match (incident, scope, sentence, level) {
        (true, true, false, 1) => &[
            "for everyone",
            "for all users",
            "across all sites",
            "for all {big} users",
            "company-wide",
            "for every region",
        ],
        (true, true, false, 2) => &[
            "for the {dept} team",
            "at the {site}",
            "for some users in {region}",
            "for about {n} people in {dept}",
            "for part of the {dept} department",
        ],
        (true, true, false, _) => {
            &["for me", "for one user", "only on my machine", "just for {person}", "for a single user"]
        }
        (true, true, true, 1) => &[
            "This affects everyone.",
            "All users are impacted.",
            "Every site is affected.",
            "Impact: the whole company.",
            "Thousands of users are affected.",
        ],
        (true, true, true, 2) => &[
            "The whole {dept} team is affected.",
            "About {n} people in {dept} are affected.",
            "Only the {site} is affected.",
            "Some users in {region} are affected.",
        ],
        (true, true, true, _) => &[
            "Only me so far.",
            "Just one user affected.",
            "Only affects {person}.",
            "Only my machine, colleagues are fine.",
        ],
        (true, false, false, 1) => &[
            "we are blocked right now",
            "need a fix now",
            "urgent, work has stopped",
            "critical, blocked now",
            "completely stuck",
        ],
        (true, false, false, 2) => {
            &["there is a workaround", "can wait a few hours", "please look today", "workaround exists but slow"]
        }
        (true, false, false, _) => {
            &["not urgent", "low priority", "no rush, can wait until next week", "whenever you can"]
        }
        (true, false, true, 1) => &[
            "We are blocked right now.",
            "Urgent, work has stopped here.",
            "Down now, please help ASAP.",
            "Blocked until this is fixed, please treat as urgent.",
        ],
        (true, false, true, 2) => {
            &["There is a workaround for now.", "Slow but usable, please look today.", "It can wait a few hours."]
        }
        (true, false, true, _) => &["Not urgent.", "Low priority, we can live with it.", "No rush, next week is fine."],
        (false, true, false, 1) => &["all staff", "every employee", "the whole company"],
        (false, true, false, 2) => {
            &["the {dept} team", "everyone in {dept}", "the {site} staff", "the whole {dept} department"]
        }
        (false, true, false, _) => &["{user}", "me", "{person}", "new starter {person}", "my colleague {person}"],
        (false, true, true, 1) => &["This is for all staff.", "Needed for the whole company."],
        (false, true, true, 2) => &["This is for the whole team, not just me.", "It's for a group of {n} people."],
        (false, true, true, _) => &["Just for me.", "Only for one person."],
        (false, false, false, 1) => &[
            "today please, blocked until then",
            "ASAP - cannot work without it",
            "urgently, I'm blocked",
            "right now, it blocks the release",
        ],
        (false, false, false, 2) => &["by {day}", "before end of week", "this week please", "before {day}"],
        (false, false, false, _) => &["whenever convenient", "no rush", "when you have time", "sometime next month"],
        (false, false, true, 1) => {
            &["Urgent: I'm blocked until this is done.", "Needed today please, cannot work without it."]
        }
        (false, false, true, 2) => &["Needed by {day}.", "Would be good to have this by end of week."],
        (false, false, true, _) => &["No rush.", "Whenever you get a chance.", "Not urgent."],
    }
}

/// Adds typing mistakes: each word of four or more ASCII letters is mangled with probability `rate`.
pub(super) fn typos(rng: &mut ChaCha8Rng, text: &str, rate: f64) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let eligible = word.len() >= 4 && word.bytes().all(|b| b.is_ascii_alphabetic());
        if eligible && rng.random_bool(rate) {
            mangle(rng, word, &mut out);
        } else {
            out.push_str(word);
        }
    }
    out
}

fn mangle(rng: &mut ChaCha8Rng, word: &str, out: &mut String) {
    let bytes = word.as_bytes();
    let at = rng.random_range(1..bytes.len() - 1);
    let mut chars: Vec<u8> = bytes.to_vec();
    match rng.random_range(0..3u8) {
        0 => chars.swap(at, at + 1),
        1 => {
            chars.remove(at);
        }
        _ => chars.insert(at, bytes[at]),
    }
    out.extend(chars.into_iter().map(char::from));
}

/// How a summary is cased: most are left alone, some shouted, some typed in lower case.
pub(super) fn casing(rng: &mut ChaCha8Rng, summary: String, lower_share: f64) -> String {
    let roll: f64 = rng.random();
    if roll < 0.03 {
        summary.to_uppercase()
    } else if roll < 0.03 + lower_share {
        summary.to_lowercase()
    } else {
        capitalise(summary)
    }
}

fn capitalise(text: String) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() => first.to_uppercase().chain(chars).collect(),
        _ => text,
    }
}

pub(super) const GREETINGS: &[&str] = &["Hi team,", "Hello,", "Hi,", "Dear IT,", "Hey all,", "Good morning,", "Hi all"];

pub(super) const SIGN_OFFS: &[&str] = &[
    "Thanks, {me}",
    "Regards,\n{me}",
    "Cheers\n{me}",
    "Thank you!",
    "BR {me}",
    "Thanks in advance",
    "Sent from my iPhone",
];

/// A second paragraph for the verbose style, per kind.
pub(super) fn extra_paragraphs(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Feature => &[
            "Acceptance criteria:\n- available on the {screen}\n- behind a feature flag first\n- tracked in analytics",
            "Why: {persona}s ask for this every week in support chats. Competitors already have it.",
            "Out of scope for now: admin settings and reporting.\nDesign: see Figma, page '{screen}'.",
            "Definition of done: unit tests, docs updated, release note for {version}.",
        ],
        Kind::Defect => &[
            "Steps to reproduce:\n1. Log in as a {persona}\n2. Open the {screen}\n3. Try {action}\n\nExpected: works as before\nActual: see above",
            "Environment: production, version {version}. Also reproduced on staging.",
            "Browser/device: {browser}. Happens 3 times out of 3.",
            "Workaround for support: none known. Probably introduced in {version}.",
        ],
        Kind::Incident => &[
            "Started: {time}. Last change: none that we know of.",
            "We already restarted the service, no change.",
            "First noticed: {time}. Nothing changed on our side as far as I know.",
            "Several calls to the service desk about this already.",
        ],
        Kind::Request => &[
            "Business justification: needed for {project}.",
            "Approved by my manager {person}.",
            "Cost centre {cc}.",
            "Let me know if you need a form filled in.",
        ],
    }
}

/// Prefixes people put in front of a summary. Urgent ones only go on urgent Work.
pub(super) fn prefixes(kind: Kind, urgency: u8) -> &'static [&'static str] {
    match kind {
        Kind::Feature => &["Story: ", "[FE] ", "Idea: ", "RE: ", "Fwd: ", "Enhancement - "],
        Kind::Defect => &["[Bug] ", "BUG: ", "Defect: ", "RE: ", "[REGRESSION] ", "Fwd: "],
        Kind::Incident if urgency == 1 => &["URGENT: ", "P1 - ", "!!! ", "[PROD] ", "CRITICAL: "],
        Kind::Incident => &["RE: ", "Issue: ", "Problem - ", "FW: "],
        Kind::Request if urgency == 1 => &["URGENT: ", "ASAP - ", "Request: "],
        Kind::Request => &["Request: ", "REQ - ", "RE: ", "FW: ", "Service request: "],
    }
}
