//! The scenarios items are made from: what kind of ticket it is, its truth, and how people word it.
//!
//! Templates hold `{slot}` placeholders filled from [`super::vocab`] (see `text::Ctx::fill` for the list). Four slots
//! carry the truth of a Work item and must only be used where any of the scenario's levels reads naturally:
//! `{scope}` (who an incident hits), `{urg}` (how pressing an incident is), `{who}` (whom a request is for) and
//! `{when}` / `{expiry}` (how soon a request is needed). Text outside those slots never implies a level, so the
//! truth stays consistent with the wording; where a template says nothing, the generator adds a sentence that does.

/// What an item is, in twotrack's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Feature,
    Defect,
    Incident,
    Request,
}

impl Kind {
    pub(super) const fn is_value(self) -> bool {
        matches!(self, Kind::Feature | Kind::Defect)
    }

    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Kind::Feature => "feature",
            Kind::Defect => "defect",
            Kind::Incident => "incident",
            Kind::Request => "request",
        }
    }

    pub(super) const fn class(self) -> &'static str {
        if self.is_value() { "value" } else { "work" }
    }
}

/// The service queue a Work item belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Queue {
    Database,
    Access,
    Network,
    Infrastructure,
    EndUser,
    ServiceDesk,
}

impl Queue {
    pub(super) const ALL: [Queue; 6] =
        [Queue::Database, Queue::Access, Queue::Network, Queue::Infrastructure, Queue::EndUser, Queue::ServiceDesk];

    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Queue::Database => "database",
            Queue::Access => "access",
            Queue::Network => "network",
            Queue::Infrastructure => "infrastructure",
            Queue::EndUser => "end-user",
            Queue::ServiceDesk => "service-desk",
        }
    }

    /// The ServiceNow assignment group that works this queue.
    pub(super) const fn group(self) -> &'static str {
        match self {
            Queue::Database => "Database Administration",
            Queue::Access => "Identity & Access",
            Queue::Network => "Network Operations",
            Queue::Infrastructure => "Hosting & Infrastructure",
            Queue::EndUser => "End User Services",
            Queue::ServiceDesk => "Service Desk",
        }
    }

    /// The ServiceNow incident category a caller would pick.
    pub(super) const fn categories(self) -> &'static [&'static str] {
        match self {
            Queue::Database => &["database", "software"],
            Queue::Access => &["software", "inquiry"],
            Queue::Network => &["network"],
            Queue::Infrastructure => &["software", "hardware"],
            Queue::EndUser => &["hardware", "software"],
            Queue::ServiceDesk => &["inquiry"],
        }
    }
}

/// A log excerpt or stack trace that may be pasted into the description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Log {
    Java,
    Python,
    Ios,
    Android,
    Nginx,
    Postgres,
    Oracle,
    Kubernetes,
    Curl,
    WindowsEvent,
    Vpn,
}

/// One kind of ticket and the ways people write it. Its [`Kind`] is the list it is in.
pub(super) struct Scenario {
    pub queue: Option<Queue>,
    /// Restricts the product vocabulary to one domain (index into `vocab::DOMAINS`).
    pub domain: Option<usize>,
    /// Work only: the impact levels this wording allows, repeated to weight them.
    pub impacts: &'static [u8],
    /// Work only: the urgency levels this wording allows, repeated to weight them.
    pub urgencies: &'static [u8],
    pub summaries: &'static [&'static str],
    /// Short summaries for the terse style; may be empty, then `summaries` is used.
    pub terse: &'static [&'static str],
    pub bodies: &'static [&'static str],
    pub logs: &'static [Log],
}

const NONE: &[u8] = &[];
const WEB_SHOP: Option<usize> = Some(0);
const MOBILE: Option<usize> = Some(2);
const DATA: Option<usize> = Some(3);

const fn value(
    summaries: &'static [&'static str],
    terse: &'static [&'static str],
    bodies: &'static [&'static str],
    logs: &'static [Log],
) -> Scenario {
    Scenario { queue: None, domain: None, impacts: NONE, urgencies: NONE, summaries, terse, bodies, logs }
}

pub(super) const FEATURES: &[Scenario] = &[
    value(
        &[
            "Add {feature} to {app}",
            "Support {feature} on the {screen}",
            "Feature request: {feature}",
            "As a {persona} I want {feature} so that I save time",
            "{feature} for {app}",
            "Would be great to have {feature} in {app}",
            "Can we get {feature}? ({persona} feedback)",
            "[Story] {feature} on the {screen}",
            "Introduce {feature} for {persona}s",
        ],
        &["{feature}", "add {feature}", "{feature} pls", "FR: {feature}", "{feature} on {screen}"],
        &[
            "As a {persona} I want {feature} in {app}, so that I don't have to work around it.",
            "Several {persona}s asked for {feature}. Competitors have it. Let's scope it for next quarter.",
            "Idea from the {dept} team: {feature} on the {screen}. Needs design first.",
            "We keep getting feedback asking for {feature}. Proposal: start with the {screen}, then roll out to the rest of {app}.",
            "PM note: {feature} is on the roadmap for {version}. This story covers the {screen} part.",
        ],
        &[],
    ),
    value(
        &[
            "Allow exporting {entity} to CSV from the {screen}",
            "Export {entity} as Excel",
            "Add a download button for {entity} on the {screen}",
            "{persona}s need to export {entity} with the {field} column",
            "Scheduled export of {entity} to {ext}",
        ],
        &["csv export for {entity}", "export {entity}", "xlsx export"],
        &[
            "Today the {persona}s copy {entity} by hand from the {screen}. A CSV export (with {field}) would save hours every week.",
            "Acceptance: the export respects the current filters, includes {field}, works for up to {big} rows.",
        ],
        &[],
    ),
    value(
        &[
            "Please add {metric} to the {dashboard}",
            "Add {metric} to {dashboard}",
            "Show {metric} broken down by {field} on the {dashboard}",
            "New tile on the {dashboard}: {metric}",
            "{dashboard}: include {metric} per week",
            "Can the {dashboard} show {metric} for last year too?",
        ],
        &["{metric} on {dashboard}", "add {metric} tile", "{dashboard} - {metric}"],
        &[
            "The {dashboard} shows totals only. We need {metric} next to it, per week, so the {persona}s can see the trend.",
            "Requested by the {dept} leads for the quarterly review. Same filters as the other tiles.",
            "{metric} is what leadership asks about every Monday. Please add it with a comparison to last year.",
        ],
        &[],
    ),
    value(
        &[
            "Filter {entity} by {field} on the {screen}",
            "Sort {entity} by {field}",
            "Add a search box to the {screen}",
            "Let {persona}s filter {entity} by date range",
            "Saved filters on the {screen}",
        ],
        &["filter by {field}", "sorting on {screen}", "search on {screen}"],
        &[
            "With more than {big} {entity} the {screen} is hard to use. A filter on {field} would help a lot.",
            "Nice to have: saved filters per {persona}.",
        ],
        &[],
    ),
    value(
        &[
            "Notify the {persona} when {event}",
            "Send an email when {event}",
            "Push notification when {event}",
            "Slack message to the {persona} when {event}",
            "Reminder for {persona}s when {event}",
        ],
        &["notification when {event}", "email on {event}"],
        &[
            "Right now the {persona} only finds out by checking the {screen}. We want a notification when {event}, with a link to the record.",
            "Should be opt-out in the settings. Copy to be agreed with marketing.",
        ],
        &[],
    ),
    value(
        &[
            "Integrate {app} with {ext}",
            "Sync {entity} to {ext} every night",
            "Push {entity} from {app} to {ext} in real time",
            "{ext} connector for {entity}",
            "Two-way sync of {field} between {app} and {ext}",
        ],
        &["{ext} integration", "sync to {ext}"],
        &[
            "{dept} uses {ext} for {entity}; today someone re-keys them. We want an automatic sync, both directions if possible.",
            "Scope: {entity} only, nightly is fine for v1. The {ext} API supports webhooks.",
        ],
        &[],
    ),
    value(
        &[
            "Add SSO login (SAML) to {app}",
            "Support Sign in with Google on the {screen}",
            "Let enterprise customers log in to {app} with their own Okta",
            "OIDC login option for {app}",
            "Single sign-on for B2B customers in {app}",
        ],
        &["SSO for {app}", "saml login support"],
        &[
            "Big customers keep asking for single sign-on. {app} needs a SAML/OIDC login option per tenant, configurable by the customer admin.",
            "Product change: new login option on the {screen}, plus a settings page where a tenant admin uploads the IdP metadata.",
        ],
        &[],
    ),
    value(
        &[
            "Allow uploads larger than {mb}MB in {app}",
            "Support attachments up to {mb}MB on the {screen}",
            "Resumable uploads for large files in {app}",
            "Drag and drop upload on the {screen}",
        ],
        &["bigger uploads", "upload progress bar"],
        &[
            "{persona}s want to attach bigger files. The client rejects anything over the limit; we need chunked upload support in the code and a progress bar.",
        ],
        &[],
    ),
    value(
        &[
            "Translate the {screen} into {lang}",
            "{lang} language support for {app}",
            "Localise {entity} emails to {lang}",
            "Support {lang} date and number formats on the {screen}",
        ],
        &["{lang} translation", "i18n {screen}"],
        &[
            "We launch in a new market next quarter. Every string on the {screen} needs a {lang} version, plus date and number formats.",
            "Marketing provides the copy; we need the plumbing for a new locale.",
        ],
        &[],
    ),
    value(
        &[
            "Remember the last used {field} on the {screen}",
            "Make the {screen} usable on small screens",
            "Better empty state for the {screen}",
            "Ask for confirmation before deleting {entity}",
            "Change the default sort of the {screen} to newest first",
            "Rename the 'Submit' button on the {screen} to 'Send for approval'",
            "Prefill {field} from the {persona}'s profile",
            "Let {persona}s edit {field} after submitting",
            "Make {field} optional on the {screen}",
        ],
        &["improve {screen}", "ux: {screen}", "prefill {field}"],
        &[
            "Small UX change requested by the {dept} team. Low effort, nice win.",
            "User testing showed {persona}s get lost on the {screen}. Designs are in Figma.",
            "Current behaviour is by design but {persona}s find it annoying. Proposal attached.",
        ],
        &[],
    ),
    value(
        &[
            "Expose {entity} through the public API",
            "Add pagination to the /{entity} endpoint",
            "Webhook when {event}",
            "API: filter {entity} by {field}",
            "Bulk endpoint to update {entity}",
        ],
        &["api for {entity}", "webhook: {event}"],
        &[
            "Partners integrate with us and need {entity} through the API, including {field}. Rate limited like the rest.",
            "Needed by the integration partner ({ext}) for their next release.",
        ],
        &[],
    ),
    value(
        &[
            "Cache {entity} lookups in {class}",
            "Refactor {class} to support multiple currencies",
            "Audit log for changes to {field}",
            "Move {app} to the new design system",
            "Split {class} into smaller services",
        ],
        &["tech debt: {class}", "audit log {field}"],
        &[
            "Tech improvement. Makes the {screen} faster and the code easier to change.",
            "Compliance wants an audit trail: who changed {field}, when, old and new value.",
        ],
        &[],
    ),
];

pub(super) const DEFECTS: &[Scenario] = &[
    value(
        &[
            "{calc} is wrong for {segment}",
            "Wrong {calc} on the {screen} for {segment}",
            "{calc} calculated incorrectly for {segment}",
            "Incorrect {calc} when {action}",
            "{calc} off by one for {segment}",
            "Bug: {calc} doubled for {segment}",
            "{calc} not updated after {action}",
        ],
        &["wrong {calc} for {segment}", "{calc} bug", "{calc} wrong"],
        &[
            "Steps: 1) log in as a {persona} 2) go to the {screen} 3) use {segment}. Expected: correct {calc}. Actual: {calc} is off.",
            "Reported by a customer through support, reproduced on staging. Happens for {segment} only; everyone else gets the right {calc}.",
            "Found in production after release {version}. Not blocking anyone, but {calc} is wrong for {segment} and {persona}s notice.",
            "The rule in {class} ignores {segment}. Compare with the spec: {calc} should be recalculated.",
        ],
        &[],
    ),
    value(
        &[
            "{app} crashes when {action}",
            "Crash on the {screen} after update to {version}",
            "App crash: {class} throws on the {screen}",
            "{app} closes itself when {action} on {segment}",
            "NullPointerException in {class} when {action}",
        ],
        &["crash on {screen}", "crash when {action}", "crash {version}"],
        &[
            "Reproducible every time: open {app}, go to the {screen}, then try {action}. It crashes. Started with {version}.",
            "Crash reports from {segment} since {version}. Stack trace below.",
            "Crashlytics shows this as the top crash in {version}.",
        ],
        &[Log::Java, Log::Ios, Log::Android],
    ),
    value(
        &[
            "Cannot save {field} with {edge}",
            "{field} validation rejects valid values",
            "Form on the {screen} fails with {edge}",
            "Error saving {entity} with {edge}",
            "{screen}: {field} does not accept {edge}",
        ],
        &["{field} validation bug", "cant save {field}"],
        &[
            "Entering {edge} in {field} shows 'invalid value'. It is valid. Regression from {version}?",
            "A {persona} hit this today. Expected the record to be saved; got a validation error.",
        ],
        &[],
    ),
    value(
        &[
            "Button overlaps text on the {screen} in {browser}",
            "{screen} layout broken for {segment}",
            "Text cut off on the {screen}",
            "Dropdown on the {screen} opens behind the footer",
            "Unreadable colours in dark theme on the {screen}",
        ],
        &["layout broken {screen}", "UI glitch on {screen}"],
        &[
            "Cosmetic, but it looks broken. Screenshot attached. Only in {browser}.",
            "Since {version} the {screen} renders badly for {segment}.",
        ],
        &[],
    ),
    value(
        &[
            "Customer reports: the {screen} shows the wrong {calc}",
            "Prod bug: {calc} wrong on the {screen} for {segment}",
            "Support escalation - {calc} incorrect for {segment}",
            "Complaint from a {persona}: {entity} missing from the {screen}",
            "Production issue: {entity} duplicated on the {screen} after {action}",
        ],
        &["prod bug {screen}", "customer complaint {calc}"],
        &[
            "Customer called support: {calc} on the {screen} is wrong for {segment}. Reproduced in production and on staging, so it is in the code, not the environment. Other {persona}s are fine.",
            "Bug in production since {version}. Support ticket {ticket} has the details. Root cause looks like the rounding in {class}.",
        ],
        &[Log::Java],
    ),
    value(
        &[
            "{screen} much slower since release {version}",
            "Performance regression in {class} after {version}",
            "N+1 queries on the {screen} since the last release",
            "p95 latency of /{entity} doubled after {version}",
            "Slow {screen} for {persona}s with many {entity} (regression)",
        ],
        &["perf regression {screen}", "slow {screen} since {version}"],
        &[
            "Since {version} the {screen} takes 6-8 seconds instead of under one. Profiling shows {class} loading {entity} one by one. The servers are healthy.",
            "Regression from the {version} refactor: the query for {entity} no longer uses the index. Needs a code fix, not more hardware.",
        ],
        &[],
    ),
    value(
        &[
            "500 error when {action} with {edge}",
            "Server error on the {screen} for {segment}",
            "Unhandled exception in {class}",
            "{app} returns HTTP 500 for {entity} with {edge}",
        ],
        &["500 on {screen}", "exception in {class}"],
        &[
            "Only happens with {edge}. Other {entity} work fine.",
            "Every time for {segment}; stack trace from the logs:",
        ],
        &[Log::Java, Log::Python],
    ),
    value(
        &[
            "Duplicate {entity} in {table} after the dedup step",
            "{calc} shifted by one day for {segment}",
            "Join drops rows with {edge}",
            "{dashboard} double counts {metric}",
            "{metric} on the {dashboard} does not match the source system",
        ],
        &["dupes in {table}", "{metric} mismatch"],
        &[
            "The transform in {class} does not handle {edge}. Expected the same totals as the source; we lose about {n}% of rows.",
            "Logic bug: {metric} is summed twice for {segment}. Needs a fix in the model, then a backfill.",
        ],
        &[Log::Python],
    ),
    value(
        &[
            "Typo on the {screen}",
            "{lang} translation missing on the {screen}",
            "Wrong label on the {field} field",
            "Dates shown in US format for {segment}",
            "Email template shows a raw placeholder instead of the name",
        ],
        &["typo {screen}", "wrong label"],
        &[
            "Small fix: the {screen} says the wrong thing; the copy should match the design.",
            "Seen by a {persona} in production.",
        ],
        &[],
    ),
    value(
        &[
            "Filter by {field} returns no results",
            "Search ignores accents on the {screen}",
            "Sorting by {field} is wrong on the {screen}",
            "Pagination skips {entity} on the {screen}",
            "Search results include deleted {entity}",
        ],
        &["filter broken", "search bug {screen}"],
        &[
            "Steps to reproduce: open the {screen}, filter by {field}. Expected: matching {entity}. Actual: an empty list.",
            "Broke in {version}, worked before.",
        ],
        &[],
    ),
    value(
        &[
            "Push notifications not delivered on {segment}",
            "Sync loses {entity} when {action}",
            "{calc} resets to zero after {action}",
            "Deep link opens the wrong screen",
            "Logged out randomly on {segment}",
        ],
        &["push broken on {segment}", "sync bug"],
        &[
            "Reproducible on {segment}. Logs attached.",
            "Happens after {action}: the local cache is overwritten by the server copy.",
        ],
        &[Log::Ios, Log::Android],
    ),
    value(
        &[
            "{ext} sync creates duplicate {entity}",
            "Webhook fires twice when {event}",
            "{entity} exported to {ext} without {field}",
        ],
        &["{ext} sync dupes"],
        &["Bug in our connector: the retry path sends the same {entity} again without the idempotency key."],
        &[Log::Java],
    ),
];

const fn work(
    queue: Queue,
    impacts: &'static [u8],
    urgencies: &'static [u8],
    summaries: &'static [&'static str],
    terse: &'static [&'static str],
    bodies: &'static [&'static str],
    logs: &'static [Log],
) -> Scenario {
    Scenario { queue: Some(queue), domain: None, impacts, urgencies, summaries, terse, bodies, logs }
}

const fn only(domain: Option<usize>, scenario: Scenario) -> Scenario {
    Scenario { domain, ..scenario }
}

pub(super) const INCIDENTS: &[Scenario] = &[
    work(
        Queue::Infrastructure,
        &[1, 1, 2, 2, 3],
        &[1, 1, 2],
        &[
            "{app} is down {scope}",
            "{app} down - {urg}",
            "Cannot reach {app}: {errcode}",
            "{app} not loading {scope}",
            "Outage: {app} returning {errcode}",
            "{app} unavailable since {time}",
            "{app} gives {errcode} {scope}",
        ],
        &["{app} down", "{app} not working", "{app} {errcode}", "site down"],
        &[
            "Since {time} {app} returns {errcode} {scope}. Nothing was deployed as far as I know.",
            "Monitoring shows health checks failing on {host}. Pages time out.",
            "Users are calling the service desk: {app} is not loading.",
        ],
        &[Log::Nginx, Log::Curl, Log::Kubernetes],
    ),
    work(
        Queue::Database,
        &[1, 1, 2, 2],
        &[1, 1, 2, 3],
        &[
            "Database {dbhost} not responding",
            "{db} DB out of connections",
            "DB server {dbhost} down",
            "Replication lag on {dbhost}",
            "Queries on {db} timing out {scope}",
            "{dbhost}: disk full, writes failing",
            "Deadlocks on {db} since {time}",
        ],
        &["{dbhost} down", "db timeouts", "{db} db not responding"],
        &[
            "Applications using {db} time out. {dbhost} CPU at 100%.",
            "The {db} database stopped accepting connections at {time}.",
            "DBA on call please: {dbhost} looks unhealthy.",
        ],
        &[Log::Postgres, Log::Oracle],
    ),
    work(
        Queue::Network,
        &[1, 2, 2, 3],
        &[1, 2, 2, 3],
        &[
            "VPN not connecting {scope}",
            "No wifi at the {site}",
            "Internet very slow at the {site}",
            "DNS resolution failing for {fqdn}",
            "Network drops every few minutes {scope}",
            "Cannot reach {host} from the {site}",
            "Packet loss to {region}",
        ],
        &["vpn down", "no wifi", "network slow", "vpn issue"],
        &[
            "Since {time} the connection keeps dropping.",
            "Ping to {host} shows 30% packet loss. Cable and switch port checked on our side.",
            "GlobalProtect says 'gateway unreachable'.",
        ],
        &[Log::Vpn, Log::Curl],
    ),
    work(
        Queue::Infrastructure,
        &[1, 2, 2],
        &[1, 2, 2, 3],
        &[
            "{itapp} not working {scope}",
            "Emails not arriving since {time}",
            "{itapp} login loop {scope}",
            "Shared mailbox not syncing {scope}",
            "{itapp} very slow {scope}",
        ],
        &["{itapp} down", "email broken", "{itapp} issue"],
        &[
            "Started around {time}. Colleagues in other offices report the same.",
            "Web version behaves the same, so not the client.",
        ],
        &[Log::Curl],
    ),
    work(
        Queue::EndUser,
        &[3],
        &[1, 2, 2, 3],
        &[
            "My {device} won't turn on",
            "{device} broken",
            "Laptop very slow after the update",
            "Outlook keeps crashing on my laptop",
            "Screen flickering on my {device}",
            "Blue screen on startup",
            "Cannot connect my {device} to the docking station",
            "{device} battery swollen",
        ],
        &["{device} broken", "laptop slow", "bsod", "{device} dead"],
        &[
            "Tried restarting twice. Asset tag {asset}.",
            "Since this morning. I'm at the {site}, desk {n}.",
            "Already tried another cable and another power socket.",
        ],
        &[Log::WindowsEvent],
    ),
    work(
        Queue::EndUser,
        &[2, 3],
        &[2, 3],
        &[
            "{printer} not printing",
            "{printer} offline",
            "Paper jam error on {printer} that won't clear",
            "Scanner on {printer} not sending email",
        ],
        &["printer down", "printer not working"],
        &["Shows offline in the print queue. Power cycled it already.", "Jobs sit in the queue forever."],
        &[],
    ),
    work(
        Queue::Infrastructure,
        &[1, 2, 2],
        &[1, 2, 3],
        &[
            "{job} failed last night",
            "{job} did not run",
            "{job} stuck since {time}",
            "Data not refreshed: {job} failing",
            "{job} error, {dashboard} is empty",
        ],
        &["{job} failed", "job failed"],
        &[
            "The job ran at {time} and exited with code 1. Downstream reports are empty.",
            "The scheduler shows it as running for 9 hours.",
        ],
        &[Log::Kubernetes, Log::Python],
    ),
    work(
        Queue::Access,
        &[1, 2, 3],
        &[1, 1, 2],
        &[
            "Cannot log in to {itapp} {scope}",
            "SSO login failing {scope}",
            "Okta MFA push not arriving {scope}",
            "Login to {app} fails with 'invalid SAML response'",
            "Accounts getting locked out {scope}",
        ],
        &["sso broken", "cant login", "login issue {itapp}"],
        &["The login page loops back to the IdP.", "Error after entering the MFA code: 'Something went wrong'."],
        &[Log::WindowsEvent],
    ),
    work(
        Queue::Infrastructure,
        &[1, 2],
        &[1, 2, 3],
        &[
            "Disk full on {host}",
            "Shared drive out of space",
            "{host} out of disk space, uploads failing",
            "S3 bucket quota reached for {project}",
        ],
        &["disk full {host}", "no space left"],
        &["Writes fail with 'No space left on device'.", "Alert from monitoring: {host} at 100% disk."],
        &[Log::Kubernetes],
    ),
    work(
        Queue::Infrastructure,
        &[1, 1, 2],
        &[1, 2],
        &[
            "Certificate expired on {cert}",
            "Browsers show 'Your connection is not private' on {cert}",
            "SSL error on {app}: certificate expired",
            "TLS handshake failing for {cert}",
        ],
        &["cert expired", "ssl error {cert}"],
        &["Expiry date in the browser says yesterday.", "API clients fail with 'certificate has expired'."],
        &[Log::Curl],
    ),
    only(
        WEB_SHOP,
        work(
            Queue::Infrastructure,
            &[1, 1, 2],
            &[1, 1, 2],
            &[
                "Checkout down since {time}, payments failing {scope}",
                "Payments failing with 'provider unavailable' {scope}",
                "Orders not going through {scope}",
                "Checkout is down {scope}",
                "Card payments timing out {scope}",
            ],
            &["checkout down", "payments down", "cant pay"],
            &[
                "Payment page spins and then shows an error. Status page of the payment provider is green.",
                "The order count dropped to zero at {time}.",
            ],
            &[Log::Nginx, Log::Kubernetes],
        ),
    ),
    work(
        Queue::Infrastructure,
        &[1, 2, 2, 3],
        &[1, 2, 2, 3],
        &[
            "{app} extremely slow {scope}",
            "Timeouts on {app} since {time}",
            "{app} degraded: pages take 30s",
            "High error rate on {app} {scope}",
        ],
        &["{app} slow", "timeouts {app}"],
        &[
            "Since {time} response times went from 200ms to 20s. No release today. Grafana shows {host} CPU pinned.",
            "Looks like the environment: the same build was fine yesterday.",
        ],
        &[Log::Nginx, Log::Kubernetes],
    ),
    only(
        MOBILE,
        work(
            Queue::Infrastructure,
            &[1, 1, 2],
            &[1, 2],
            &[
                "App shows 'no connection' {scope}",
                "Mobile API returning 503 {scope}",
                "All push notifications stopped since {time}",
                "App stuck on splash screen {scope}",
            ],
            &["app down", "mobile api down"],
            &["Backend {host} not answering health checks.", "Nothing changed in the app; the API is not reachable."],
            &[Log::Curl, Log::Kubernetes],
        ),
    ),
    only(
        DATA,
        work(
            Queue::Infrastructure,
            &[1, 2, 2],
            &[1, 2, 3],
            &[
                "Warehouse queries failing {scope}",
                "{dashboard} not loading {scope}",
                "Airflow scheduler down",
                "Data lake storage unreachable since {time}",
            ],
            &["airflow down", "dashboards down"],
            &["Every query fails with a connection error.", "Scheduler heartbeat missing since {time}."],
            &[Log::Python, Log::Kubernetes],
        ),
    ),
    work(
        Queue::Network,
        &[1, 2],
        &[1, 2],
        &[
            "Desk phones dead at the {site}",
            "Call centre phones dropping calls",
            "No dial tone {scope}",
            "Teams calls cutting out {scope}",
        ],
        &["phones down", "no dial tone"],
        &["Calls drop after about 30 seconds.", "Phones show 'registering' and never finish."],
        &[],
    ),
];

pub(super) const REQUESTS: &[Scenario] = &[
    work(
        Queue::Access,
        &[3],
        &[1, 2, 3, 3],
        &[
            "Password reset for {user}",
            "pls reset pw for {user}",
            "Reset my {itapp} password",
            "Locked out of my account",
            "Forgot password - {itapp}",
            "Account locked: {user}",
            "Need password reset {when}",
            "User {user} cannot log in, please reset the password",
        ],
        &["pw reset {user}", "reset pw", "locked out", "password expired"],
        &[
            "Hi, I forgot my password after the holidays. Username {user}.",
            "My account got locked after too many attempts. Please unlock and reset.",
            "Password expired while I was travelling and the self-service reset doesn't send the SMS.",
        ],
        &[Log::WindowsEvent],
    ),
    work(
        Queue::Access,
        &[3],
        &[1, 2, 3],
        &[
            "New phone, please reset my MFA",
            "Re-enrol Okta Verify for {user}",
            "Lost my MFA token",
            "MFA reset for {user} {when}",
        ],
        &["mfa reset", "new phone mfa"],
        &["Got a new phone and the authenticator app did not transfer.", "Please reset so I can enrol again."],
        &[],
    ),
    work(
        Queue::Access,
        &[3, 3, 3, 2, 2, 1],
        &[1, 2, 2, 3, 3],
        &[
            "Access to {share} for {who}",
            "Please grant {who} read access to {share}",
            "Need write access to {share}",
            "Request: permissions on {share} for {who}",
            "Give {who} access to {itapp}",
            "{who} needs access to {itapp} {when}",
            "Read-only access to the {table} table in {db} for {who}",
        ],
        &["access {share}", "need access to {itapp}", "permission request"],
        &[
            "Moved to {dept} and need the same access as the rest of the team. Approved by {person}.",
            "Manager approval attached. Read only is enough.",
            "Same permissions as {person} please.",
        ],
        &[],
    ),
    work(
        Queue::Access,
        &[3, 3, 2],
        &[2, 3, 3],
        &[
            "Please add {user} to the {dashboard} group",
            "Add {user} to {group}",
            "Add me to the {group} AD group",
            "Remove {person} from {group}",
            "Membership of {group} for {who}",
            "Please add {user} to the {dashboard} viewers",
        ],
        &["add {user} to {group}", "group membership"],
        &["Approved by the group owner {person}.", "Needed for the new role in {dept}."],
        &[],
    ),
    work(
        Queue::Access,
        &[3],
        &[1, 2, 2],
        &[
            "New starter: {person}, {dept}, accounts needed {when}",
            "Create accounts for new joiner {person}",
            "Onboarding - {person} ({dept})",
            "Please create an AD account and mailbox for {person}",
            "New contractor {person} needs a login to {itapp}",
        ],
        &["new starter {person}", "onboarding {person}"],
        &[
            "Role: analyst in {dept}. Same setup as {person2}. Laptop is already ordered.",
            "Contract signed, HR ticket {ticket}. Needs email, VPN and {itapp}.",
        ],
        &[],
    ),
    work(
        Queue::Access,
        &[2],
        &[1, 2, 3],
        &[
            "Account creation for {n} temps at the {site}",
            "Logins for {n} seasonal workers in the {site}",
            "Bulk account setup for the {dept} interns",
        ],
        &["temp accounts"],
        &["List of names attached. They all need {itapp} and email."],
        &[],
    ),
    work(
        Queue::Access,
        &[3],
        &[2, 3],
        &[
            "Leaver: disable account for {person}",
            "Please remove access for {person}, last day {day}",
            "Offboarding {person}",
            "Deactivate {user}",
        ],
        &["leaver {person}", "offboarding"],
        &["Please also forward their mailbox to {person2}.", "HR confirmed the leaving date."],
        &[],
    ),
    work(
        Queue::Infrastructure,
        &[3, 3, 2],
        &[1, 2, 3],
        &[
            "Restore {folder} from backup",
            "Accidentally deleted {folder}, can you restore?",
            "Need yesterday's version of {folder}",
            "Restore request: {folder} on {host}",
        ],
        &["restore {folder}", "restore from backup"],
        &[
            "Deleted by mistake on {day}. Last known good version is from the day before.",
            "Please restore to the original location.",
        ],
        &[],
    ),
    work(
        Queue::Database,
        &[2, 3],
        &[1, 2, 3],
        &[
            "Restore {table} in {db} from last night's backup",
            "Point-in-time restore of {db} to {time}",
            "Need a copy of prod {db} restored to staging",
            "Restore deleted rows in {table}",
        ],
        &["db restore {db}", "restore {table}"],
        &[
            "A script deleted rows by mistake. We need the state before {time}.",
            "For testing the migration of {project}.",
        ],
        &[],
    ),
    work(
        Queue::Database,
        &[3, 3, 2],
        &[1, 2, 3],
        &[
            "Please fix order {order} stuck in 'pending'",
            "Data fix: correct the salary for employee {empid}",
            "Delete duplicate customer record {custid}",
            "Update the status of order {order} to shipped",
            "Wrong {field} stored for {person}, please correct it in {db}",
            "Data correction needed in {table}: {n} rows with wrong {field}",
        ],
        &["data fix {order}", "fix record {custid}", "datafix"],
        &[
            "The record is stuck and the {persona} cannot proceed. Please run the usual data fix script. Ref {ticket}.",
            "UPDATE needed: set status='SHIPPED' for order {order}. Approved by {person}.",
            "Please correct the value in the database; the screen does not allow editing it.",
        ],
        &[],
    ),
    work(
        Queue::Infrastructure,
        &[3, 2],
        &[2, 3, 3, 1],
        &[
            "New VM for {project}",
            "Need a staging environment for {app}",
            "Please create an S3 bucket for {project}",
            "Provision {n} more nodes for the k8s cluster",
            "Set up an SFTP account for partner {ext}",
            "Request: Linux server for {project}",
        ],
        &["new vm", "need a server", "provision env"],
        &["Specs: 4 vCPU, 16 GB RAM, Ubuntu LTS. Cost centre {cc}.", "Approved in the architecture board on {day}."],
        &[],
    ),
    work(
        Queue::Database,
        &[3, 2],
        &[2, 3],
        &[
            "Create a new schema in {db} for {project}",
            "New database user for {project} on {dbhost}",
            "Need a read replica of {db} for reporting",
        ],
        &["new schema", "db user request"],
        &["Read/write for the service account, read-only for analysts.", "Approved by the data owner {person}."],
        &[],
    ),
    work(
        Queue::Infrastructure,
        &[3, 2],
        &[1, 2, 3],
        &[
            "Increase upload limit on {host} to {mb}MB",
            "Change the schedule of {job} to 03:00",
            "Please raise the PHP memory limit on {host}",
            "Set env variable REPORT_TIMEOUT=120 on {app} prod",
            "Change SMTP relay settings on {host}",
            "Update the cron entry for {job}",
        ],
        &["config change {host}", "change request {job}"],
        &[
            "Standard change, no code involved. Template {ticket}.",
            "The current value is too low for the new files from {dept}.",
        ],
        &[],
    ),
    work(
        Queue::Network,
        &[3, 2],
        &[1, 2, 3],
        &[
            "Open firewall port {port} from {host} to {dbhost}",
            "Add DNS record for {fqdn}",
            "Whitelist IP {ip} on the VPN",
            "New VLAN for the {site}",
            "Proxy exception for {fqdn}",
            "Firewall rule request: {host} -> {ext} API",
        ],
        &["fw rule", "dns record {fqdn}", "firewall request"],
        &["Source {ip}, destination {host}, TCP {port}. Approved by security.", "For the integration with {ext}."],
        &[],
    ),
    work(
        Queue::Access,
        &[2, 2, 3, 1],
        &[1, 2, 3],
        &[
            "Configure SSO for the {site} in Okta",
            "Set up SAML for {itapp} in Okta",
            "Add the {itapp} app to Okta for {who}",
            "Change the Okta group mapping for {itapp}",
            "Enable SSO for {itapp} for the {dept} team",
        ],
        &["okta setup {itapp}", "sso config"],
        &[
            "Vendor metadata XML attached. Assign the {group} group.",
            "The app already supports SAML; this is just the IdP side.",
        ],
        &[],
    ),
    work(
        Queue::Infrastructure,
        &[1, 2],
        &[1, 2, 3],
        &[
            "Renew SSL certificate for {cert}",
            "Certificate for {cert} {expiry}",
            "Please renew the TLS cert on {host} ({expiry})",
            "Cert renewal: {cert}",
        ],
        &["cert renewal", "renew cert {cert}"],
        &["Monitoring warned about the expiry. The CSR is on {host}.", "Please use the same CA as last year."],
        &[Log::Curl],
    ),
    work(
        Queue::ServiceDesk,
        &[3, 3, 2],
        &[2, 3, 3, 1],
        &[
            "Need a {software} licence",
            "Licence request: {software} for {who}",
            "Can I get {software}?",
            "Please assign a {software} licence to {user}",
            "Renew our {software} licences",
        ],
        &["{software} licence", "license {software}"],
        &["Cost centre {cc}, approved by {person}.", "Trial expired yesterday."],
        &[],
    ),
    work(
        Queue::Access,
        &[3, 3, 2],
        &[2, 3, 3],
        &[
            "Add me to the {list} mailing list",
            "Create a distribution list {list}",
            "Please add {user} to {list}",
            "Remove {person} from {list}",
            "Subscribe {who} to {list}",
        ],
        &["mailing list {list}", "dl {list}"],
        &["Owner of the list is {person}.", "They joined {dept} last week."],
        &[],
    ),
    work(
        Queue::ServiceDesk,
        &[3],
        &[3, 3, 2],
        &[
            "How do I {howto}?",
            "How to {howto}",
            "Question: how can I {howto}?",
            "Can someone explain how to {howto}",
            "quick question - how to {howto}?",
            "How do I {action} in {app}?",
        ],
        &["how to {howto}?", "question"],
        &["I looked on the intranet but could not find it.", "Sorry if this is a silly question."],
        &[],
    ),
    work(
        Queue::EndUser,
        &[3],
        &[2, 3, 3],
        &[
            "Install {software} on my laptop",
            "Need a new {device}",
            "Replace my broken {device}",
            "Second monitor for {person}",
            "Laptop for new starter {person}",
            "Please set up my new {device}",
        ],
        &["new {device}", "install {software}"],
        &["Asset tag of the old one: {asset}.", "I'm at the {site}, desk {n}."],
        &[],
    ),
    work(
        Queue::Database,
        &[3, 2],
        &[2, 3, 1],
        &[
            "Can you pull a list of all {entity} from {db} since {day}",
            "Extract of {table} for the {dept} audit",
            "Need a one-off report of {entity} with {field}",
            "Query request: count of {entity} per {field}",
        ],
        &["data extract", "one-off query"],
        &["Excel is fine. The auditors asked for it.", "Just this once; we don't need it in the product."],
        &[],
    ),
    work(
        Queue::ServiceDesk,
        &[3],
        &[3, 2],
        &[
            "Who do I contact about {itapp}?",
            "Status of my request {ticket}?",
            "Is there maintenance on {itapp} this weekend?",
            "Meeting room screen at the {site}: who manages it?",
        ],
        &["question about {itapp}", "status?"],
        &["Thanks in advance.", "Nobody answered my email."],
        &[],
    ),
];
