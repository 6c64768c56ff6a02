//! `twotrack config check` on broken files: every mistake exits 2 and is reported at its
//! `file:line:col` with a precise message; several mistakes are all reported in one run.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A valid configuration. Each case edits one line of it; the line numbers below refer to it.
const BASE: &str = r#"[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "https://example.atlassian.net"
auth = { user = "bot@example.com", token = { env = "JIRA_TOKEN" } }
scope = { projects = ["SHOP"] }

[[tracker]]
name = "servicenow"
kind = "servicenow"
role = "service"
base_url = "https://example.service-now.com"
auth = { user = "twotrack", token = { env = "SERVICENOW_TOKEN" } }

[schedule]
sync = "0 */15 * * * *"

[policy]
move_threshold = 0.85
review_threshold = 0.6

[daemon]
listen = "127.0.0.1:9464"
"#;

/// `BASE` with `from` (which must occur exactly once) replaced by `to`.
fn edit(from: &str, to: &str) -> String {
    assert_eq!(BASE.matches(from).count(), 1, "{from:?} must occur once in BASE");
    BASE.replace(from, to)
}

/// `twotrack config check` on `text`, with both tokens set in the child's environment only.
fn run_check(text: &str) -> (PathBuf, Option<i32>, String, tempfile::TempDir) {
    run_cmd(&["config", "check"], text)
}

/// Run `twotrack <cmd> --config FILE` on `text`.
fn run_cmd(cmd: &[&str], text: &str) -> (PathBuf, Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twotrack.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::cargo_bin("twotrack")
        .unwrap()
        .args(cmd)
        .arg("--config")
        .arg(&path)
        .env("JIRA_TOKEN", "jira-test-token")
        .env("SERVICENOW_TOKEN", "servicenow-test-token")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (path, out.status.code(), String::from_utf8(out.stderr).unwrap(), dir)
}

/// The `error:` line at `path:line:col` and its `help:` line.
fn block_at(stderr: &str, path: &Path, line: usize, col: usize) -> Option<String> {
    let prefix = format!("{}:{line}:{col}: error: ", path.display());
    let lines: Vec<&str> = stderr.lines().collect();
    let i = lines.iter().position(|l| l.starts_with(&prefix))?;
    Some(format!("{}\n{}", lines[i], lines.get(i + 1).unwrap_or(&"")))
}

/// `config check` on `text` exits 2 and reports, at `line:col`, a problem mentioning `expected`.
#[track_caller]
fn check(text: &str, line: usize, col: usize, expected: &str) {
    check_cmd(&["config", "check"], text, line, col, expected);
}

/// Like [`check`], for another command that loads the configuration.
fn check_cmd(cmd: &[&str], text: &str, line: usize, col: usize, expected: &str) {
    let (path, code, stderr, _dir) = run_cmd(cmd, text);
    assert_eq!(code, Some(2), "exit code for:\n{text}\nstderr:\n{stderr}");
    let block = block_at(&stderr, &path, line, col)
        .unwrap_or_else(|| panic!("no error at {line}:{col} in:\n{stderr}\nfor:\n{text}"));
    assert!(block.contains(expected), "expected {expected:?} at {line}:{col}, got:\n{block}\nall:\n{stderr}");
}

#[test]
fn the_base_configuration_is_valid() {
    let (_, code, stderr, _dir) = run_check(BASE);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn each_mistake_is_reported_at_its_line_and_column() {
    let url = r#"base_url = "https://example.atlassian.net""#;
    let sn_url = r#"base_url = "https://example.service-now.com""#;
    let scope = r#"scope = { projects = ["SHOP"] }"#;

    // Unknown key, with a did-you-mean.
    check(&edit(url, r#"bse_url = "https://example.atlassian.net""#), 5, 1, "unknown key `bse_url` in `tracker`");
    check(&edit(url, r#"bse_url = "https://example.atlassian.net""#), 5, 1, "did you mean `base_url`?");
    check(&edit("[policy]", "[polcy]"), 19, 2, "unknown key `polcy` at the top level");
    // Wrong type.
    check(
        &edit("move_threshold = 0.85", r#"move_threshold = "high""#),
        20,
        18,
        "wrong type for `policy.move_threshold`: expected a number, found a string",
    );
    // Missing required key: reported at the table it belongs in.
    check(&edit("role = \"product\"\n", ""), 1, 1, "tracker \"jira\": missing required key `role`");
    // Bad cron (five fields, the classic mistake).
    check(&edit("sync = \"0 */15 * * * *\"", r#"sync = "*/15 * * * *""#), 17, 8, "try \"0 */15 * * * *\"");
    // Bad URL.
    check(&edit(url, r#"base_url = "example dot net""#), 5, 12, "tracker \"jira\": `base_url` is not a valid URL");
    // Missing environment variable (an error for every command that needs the token: `config check
    // --online`, `sync`, ...; an offline `config check` only warns) and a missing secret file.
    check_cmd(
        &["config", "check", "--online"],
        &edit(r#"{ env = "JIRA_TOKEN" }"#, r#"{ env = "TWOTRACK_TEST_NEVER_SET_4711" }"#),
        6,
        52,
        "environment variable `TWOTRACK_TEST_NEVER_SET_4711` is not set",
    );
    check(
        &edit(r#"{ env = "SERVICENOW_TOKEN" }"#, r#"{ file = "no-such-secret-file" }"#),
        14,
        46,
        "cannot read secret file",
    );
    // Duplicate tracker names: reported at the second, pointing to the first.
    check(
        &edit(r#"name = "servicenow""#, r#"name = "jira""#),
        10,
        8,
        "duplicate tracker name \"jira\" (first used on line 2)",
    );
    // No service tracker.
    check(&edit(r#"role = "service""#, r#"role = "product""#), 1, 1, "no service queue");
    // http:// to a host that is not loopback.
    check(
        &edit(sn_url, r#"base_url = "http://example.service-now.com""#),
        13,
        12,
        "`base_url` uses http:// to a host that is not loopback",
    );
    check(&edit(sn_url, r#"base_url = "http://example.service-now.com""#), 13, 12, "allow_insecure_http = true");
    // Thresholds out of range, and review above move.
    check(
        &edit("move_threshold = 0.85", "move_threshold = 1.5"),
        20,
        18,
        "`policy.move_threshold` is 1.5, must be between 0 and 1",
    );
    check(
        &edit("review_threshold = 0.6", "review_threshold = 0.9"),
        21,
        20,
        "`policy.review_threshold` (0.9) is above `policy.move_threshold` (0.85)",
    );
    // Unknown queue in a rule.
    check(
        &edit(
            "listen = \"127.0.0.1:9464\"",
            "listen = \"127.0.0.1:9464\"\n\n[[rule]]\nid = \"vpn\"\nmatch = [\"vpn down\"]\nkind = \"incident\"\nqueue = \"netwrok\"",
        ),
        30,
        9,
        "rule \"vpn\" routes to unknown queue \"netwrok\"",
    );
    // Bad time zone, with a suggestion.
    check(
        &edit("sync = \"0 */15 * * * *\"", r#"timezone = "Europe/Berln""#),
        17,
        12,
        "did you mean \"Europe/Berlin\"?",
    );
    // Bad enum values: kind, role, flavour, auth type.
    check(
        &edit(r#"kind = "jira""#, r#"kind = "jria""#),
        3,
        8,
        "`tracker.kind` cannot be \"jria\": expected one of \"jira\", \"servicenow\"",
    );
    check(&edit(r#"role = "service""#, r#"role = "servce""#), 12, 8, "did you mean `service`?");
    check(&edit(scope, &format!("{scope}\nflavour = \"server\"")), 8, 11, "`tracker.flavour` cannot be \"server\"");
    check(
        &edit(r#"auth = { user = "twotrack", "#, r#"auth = { type = "token", user = "twotrack", "#),
        14,
        17,
        "`tracker.auth.type` cannot be \"token\": expected one of \"basic\", \"bearer\"",
    );
    // A jira-only key on a servicenow tracker.
    check(
        &edit("name = \"servicenow\"", "name = \"servicenow\"\nflavour = \"cloud\""),
        11,
        1,
        "`flavour` applies to jira trackers only",
    );
    // Rate limit <= 0.
    check(
        &edit(scope, &format!("{scope}\nrate = {{ per_second = 0.0 }}")),
        8,
        23,
        "`rate.per_second` must be greater than 0",
    );
    // Priority matrix value out of 1..=5.
    check(
        &edit("[daemon]", "[priority]\nmatrix = [[1, 2, 3], [2, 3, 4], [3, 4, 6]]\n\n[daemon]"),
        24,
        40,
        "priority 6 for impact 3 and urgency 3 is out of range",
    );
    // Bad listen address.
    check(
        &edit("listen = \"127.0.0.1:9464\"", "listen = \"localhost\""),
        24,
        10,
        "`daemon.listen` = \"localhost\" is not an address",
    );
    // TOML syntax error.
    check(&edit("move_threshold = 0.85", "move_threshold = "), 20, 18, "TOML syntax");
}

/// `BASE` with `tables` ([[rule]] and [[queue]] entries) after it: their first line is line 26.
fn with_tables(tables: &str) -> String {
    edit("listen = \"127.0.0.1:9464\"", &format!("listen = \"127.0.0.1:9464\"\n\n{tables}"))
}

#[test]
fn rule_and_queue_mistakes_are_reported_at_their_key() {
    let rule = |body: &str| with_tables(&format!("[[rule]]\nid = \"r\"\n{body}"));
    // An entry's own problems are at its `[[rule]]` line (26), a key's at the key: 28 is the first after the id.
    check(
        &rule("match = [\"x\"]\nclass = \"value\"\nkind = \"incident\""),
        30,
        8,
        "rule \"r\": kind \"incident\" is work, but class is \"value\"",
    );
    check(
        &rule("match = [\"x\"]\nclass = \"value\"\nkind = \"incident\""),
        30,
        8,
        "pick a value kind: feature or defect",
    );
    check(
        &rule("match = [\"x\"]\nkind = \"incident\"\nweight = -1.0"),
        30,
        10,
        "rule \"r\": `weight` must be a finite number >= 0, not -1",
    );
    check(
        &rule("match = [\"x\"]\nkind = \"incident\"\nimpact = 0"),
        30,
        10,
        "rule \"r\": `impact` must be 1 (high), 2 or 3 (low), not 0",
    );
    check(&rule("match = [\"x\"]\nkind = \"incident\"\nimpact = 0"), 30, 10, "e.g. `impact = 2`");
    check(&rule("match = [\"x\", \" \"]\nkind = \"incident\""), 28, 15, "rule \"r\": empty phrase");
    check(&rule("match = [\"x\"]"), 26, 1, "rule \"r\" has no effect");
    check(&rule("kind = \"incident\""), 26, 1, "rule \"r\" matches nothing");
    check(&rule("kind = \"incident\""), 26, 1, "give `match = [...]`");
    check(&with_tables("[[rule]]\nid = \" \"\nmatch = [\"x\"]\nkind = \"incident\""), 27, 6, "rule id is empty");
    // A duplicate id: at the second, pointing to the first.
    let twice = "[[rule]]\nid = \"a\"\nmatch = [\"x\"]\nkind = \"incident\"\n\n[[rule]]\nid = \"a\"\nmatch = [\"y\"]\nkind = \"incident\"";
    check(&with_tables(twice), 32, 6, "duplicate rule id \"a\" (first used on line 27)");
    // Unknown queue, with a suggestion.
    check(&rule("match = [\"x\"]\nqueue = \"acess\""), 29, 9, "rule \"r\" routes to unknown queue \"acess\"");
    check(&rule("match = [\"x\"]\nqueue = \"acess\""), 29, 9, "did you mean \"access\"?");
    // A phrase only the classifier's compiler refuses: at the phrase itself.
    check(
        &rule("match = [\"ok\", \"{reset\"]\nkind = \"incident\""),
        28,
        16,
        "rule \"r\": bad phrase \"{reset\": `{` without `}`",
    );
    check(&rule("match = [\"ok\", \"{reset\"]\nkind = \"incident\""), 28, 16, "see the top of config/rules.toml");

    // Queues.
    let queue = |body: &str| with_tables(&format!("[[queue]]\nname = \"payments\"\n{body}"));
    check(&queue("group = \" \""), 28, 9, "queue \"payments\": `group` is empty");
    check(&queue("group = \"Payments\"\nterms = [\"refund\", \"\"]"), 29, 20, "queue \"payments\": empty match term");
    check(
        &queue("group = \"Payments\"\nterms = [\"refund\", \"*\"]"),
        29,
        20,
        "queue \"payments\": bad term \"*\": `*` must follow a word",
    );
    check(&with_tables("[[queue]]\nname = \"\"\ngroup = \"Payments\""), 27, 8, "queue name is empty");
    let twice = "[[queue]]\nname = \"pay\"\ngroup = \"A\"\n\n[[queue]]\nname = \"pay\"\ngroup = \"B\"";
    check(&with_tables(twice), 31, 8, "duplicate queue \"pay\" (first defined on line 27)");
}

#[test]
fn several_mistakes_are_all_reported_in_one_run() {
    let text = edit(r#"kind = "jira""#, r#"kind = "jria""#)
        .replace("sync = \"0 */15 * * * *\"", "sync = \"every hour\"")
        .replace("review_threshold = 0.6", "review_threshold = 0.6\nmax_moovs = 5");
    let (path, code, stderr, _dir) = run_check(&text);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("3 problems"), "{stderr}");
    let located: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&format!("{}:", path.display()))).collect();
    assert_eq!(located.len(), 3, "{stderr}");
    assert!(block_at(&stderr, &path, 3, 8).is_some_and(|b| b.contains("cannot be \"jria\"")), "{stderr}");
    assert!(block_at(&stderr, &path, 17, 8).is_some_and(|b| b.contains("not a valid cron expression")), "{stderr}");
    assert!(block_at(&stderr, &path, 22, 1).is_some_and(|b| b.contains("did you mean `max_moves`?")), "{stderr}");
}

#[test]
fn a_missing_file_is_a_usage_error_that_says_how_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("twotrack")
        .unwrap()
        .args(["config", "check", "--config"])
        .arg(dir.path().join("nope.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot read the configuration file") && stderr.contains("twotrack config init"),
        "{stderr}"
    );
}

/// The shipped example configuration.
fn example() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/twotrack.example.toml")).unwrap()
}

/// `text` with the first line equal to `from` replaced by `to`; returns the text and that line's number.
fn edit_line(text: &str, from: &str, to: &str) -> (String, usize) {
    let line = text.lines().position(|l| l == from).unwrap_or_else(|| panic!("no line {from:?}")) + 1;
    let edited: Vec<&str> = text.lines().enumerate().map(|(i, l)| if i + 1 == line { to } else { l }).collect();
    (edited.join("\n") + "\n", line)
}

/// `config check` on `text` reports exactly one problem, at `line:col`, mentioning `expected`.
#[track_caller]
fn only_problem(text: &str, line: usize, col: usize, expected: &str) {
    let (path, code, stderr, _dir) = run_check(text);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(": 1 problem\n"), "one problem, not a cascade:\n{stderr}");
    let block = block_at(&stderr, &path, line, col).unwrap_or_else(|| panic!("no error at {line}:{col}:\n{stderr}"));
    assert!(block.contains(expected), "{block}");
}

#[test]
fn a_missing_closing_bracket_is_one_error_where_the_bracket_belongs() {
    // An unterminated array followed by sixteen lines of comments and blank lines, then the next
    // [[tracker]]: the parser only notices at that header, and used to report every later line.
    let (text, line) = edit_line(&example(), r#"projects = ["SHOP"]"#, r#"projects = ["SHOP""#);
    let next_table = text.lines().skip(line).position(|l| l.starts_with('[')).unwrap() + line + 1;
    assert!(next_table - line > 10, "the realistic case: the next table is far below ({line} -> {next_table})");
    only_problem(&text, line, 19, "TOML syntax: unclosed array, expected `]`");

    // An array over several lines: the `]` belongs after its last element, not before the next key.
    let text = BASE.replace(
        "[schedule]",
        "[tracker.scope]\ntables = [\n  \"incident\",\n  \"sc_req_item\"\n# the requests too\n\n[schedule]",
    );
    only_problem(&text, 19, 16, "unclosed array");

    // Table headers: `[[tracker]` used to make every later [tracker.x] a duplicate key.
    let (text, line) = edit_line(&example(), "[[tracker]]", "[[tracker]");
    only_problem(&text, line, 11, "TOML syntax: unclosed table header, expected `]`");
    let second = BASE.rfind("[[tracker]]").unwrap();
    let text =
        format!("{}[[tracker]{}\n[tracker.scope]\ntables = [\"incident\"]\n", &BASE[..second], &BASE[second + 11..]);
    only_problem(&text, 9, 11, "unclosed table header");
    only_problem(&edit("[policy]", "[policy"), 19, 8, "unclosed table header");

    // An inline table missing its `}`.
    only_problem(&edit("scope = { projects = [\"SHOP\"] }", "scope = { projects = [\"SHOP\"]"), 7, 30, "expected `}`");

    // A genuine missing comma is still reported as one, and a later independent mistake too.
    let text = edit("scope = { projects = [\"SHOP\"] }", "scope = { projects = [\"SHOP\" \"WEB\"] }")
        .replace("move_threshold = 0.85", "move_threshold = ");
    let (path, code, stderr, _dir) = run_check(&text);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(": 2 problems\n"), "{stderr}");
    assert!(block_at(&stderr, &path, 7, 30).is_some_and(|b| b.contains("missing comma")), "{stderr}");
    assert!(block_at(&stderr, &path, 20, 18).is_some(), "{stderr}");
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_invalid_byte() {
    // Saved as Latin-1: "café" has an é (0xE9) that is not UTF-8; the ü before it on the line is.
    let mut bytes = BASE.replace("[policy]", "[policy]\n# Zürich caf\u{0}").into_bytes();
    let nul = bytes.iter().position(|&b| b == 0).unwrap();
    bytes[nul] = 0xE9;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twotrack.toml");
    std::fs::write(&path, &bytes).unwrap();
    for cmd in [&["config", "check"][..], &["audit"][..]] {
        let out = Command::cargo_bin("twotrack").unwrap().args(cmd).arg("--config").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        // Line 20, column 13: "# Zürich caf" is twelve characters (thirteen bytes).
        let block = block_at(&stderr, &path, 20, 13).unwrap_or_else(|| panic!("{cmd:?}: not at 20:13:\n{stderr}"));
        assert!(block.contains("not valid UTF-8"), "{block}");
        assert!(block.contains("TOML files must be UTF-8") && block.contains("iconv"), "{block}");
    }
}

/// `BASE` with `line` added to the servicenow tracker (it becomes line 15).
fn servicenow_with(line: &str) -> String {
    let auth = r#"auth = { user = "twotrack", token = { env = "SERVICENOW_TOKEN" } }"#;
    edit(auth, &format!("{auth}\n{line}"))
}

#[test]
fn setups_that_would_fail_on_every_run_are_refused() {
    // A typo'd table to pull, and write tables the connector cannot create records in.
    check(&servicenow_with(r#"scope = { tables = ["incidents"] }"#), 15, 21, "does not read a table \"incidents\"");
    check(&servicenow_with(r#"scope = { tables = ["incidents"] }"#), 15, 21, "did you mean `incident`?");
    // A custom table is read as any other.
    let (_, code, stderr, _dir) = run_check(&servicenow_with(r#"scope = { tables = ["incident", "u_hr_case"] }"#));
    assert_eq!(code, Some(0), "{stderr}");
    check(
        &servicenow_with(r#"targets = { request_table = "sc_req_items" }"#),
        15,
        29,
        "cannot create records in a table \"sc_req_items\"",
    );
    check(&servicenow_with(r#"targets = { request_table = "sc_req_items" }"#), 15, 29, "did you mean `sc_req_item`?");
    // An Agile 2.0 table as the place moved items are created in.
    check(
        &servicenow_with(r#"targets = { incident_table = "rm_defect" }"#),
        15,
        30,
        "`targets.incident_table` = \"rm_defect\" is an Agile 2.0 table of product work",
    );
    check(
        &servicenow_with(r#"targets = { incident_table = "rm_defect" }"#),
        15,
        30,
        "set `incident_table = \"incident\"`",
    );

    // ServiceNow (Agile 2.0) as the product backlog and Jira (a Service Management project) as the
    // service queue: each connector creates what its role holds (`targets.story_table` / `defect_table`,
    // `targets.incident_type` / `request_type`).
    let swapped = edit(r#"role = "product""#, r#"role = "service""#).replace(
        r#"role = "service"
base_url = "https://example.service-now.com""#,
        r#"role = "product"
base_url = "https://example.service-now.com""#,
    );
    let swapped = swapped.replace(
        "auth = { user = \"twotrack\", token = { env = \"SERVICENOW_TOKEN\" } }",
        "auth = { user = \"twotrack\", token = { env = \"SERVICENOW_TOKEN\" } }\nscope = { tables = [\"rm_story\", \"rm_defect\"] }",
    );
    let (_, code, stderr, _dir) = run_check(&swapped);
    assert_eq!(code, Some(0), "an Agile 2.0 backlog and a Jira service queue are fine: {stderr}");
    // Every command that loads the configuration refuses a bad one, not only `config check`.
    check_cmd(&["audit"], &servicenow_with(r#"scope = { tables = ["incidents"] }"#), 15, 21, "does not read a table");
    // Agile 2.0 tables for stories and defects, task tables for incidents and requests.
    check(
        &servicenow_with(r#"targets = { story_table = "incident" }"#),
        15,
        27,
        "`targets.story_table` = \"incident\" is not an Agile 2.0 table",
    );
    check(&servicenow_with(r#"targets = { defect_table = "rm_defects" }"#), 15, 28, "did you mean `rm_defect`?");

    // A [[queue]] meant to set a built-in queue's group, with its name misspelt.
    let queue = "[[queue]]\nname = \"databse\"\ngroup = \"DBA Team\"";
    check(&with_tables(queue), 27, 8, "queue \"databse\" is not a built-in queue");
    check(&with_tables(queue), 27, 8, "did you mean `database`?");
    // With terms, or a rule routing to it, it is a queue of its own.
    let (_, code, stderr, _dir) = run_check(&with_tables(&format!("{queue}\nterms = [\"oracle\"]")));
    assert_eq!(code, Some(0), "{stderr}");
    // A rule routing to a misspelt queue.
    let rule = "[[rule]]\nid = \"db\"\nmatch = [\"deadlock\"]\nkind = \"incident\"\nqueue = \"databse\"";
    check(&with_tables(rule), 30, 9, "unknown queue \"databse\"");
    check(&with_tables(rule), 30, 9, "did you mean \"database\"?");
}

#[test]
fn a_mirror_path_that_cannot_be_a_directory_is_refused() {
    let with_mirror = |path: &str| with_tables(&format!("[mirror]\npath = \"{path}\""));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    check(&with_mirror(&file.display().to_string()), 27, 8, "is a file, not a directory");
    check(&with_mirror(&file.join("mirror").display().to_string()), 27, 8, "is a file, so the mirror directory");
    // A directory no one may create files in (not even root: /proc).
    check(&with_mirror("/proc/twotrack-mirror"), 27, 8, "cannot write to the directory the mirror is created in /proc");
    // A directory to be created, under one that exists: fine.
    let (_, code, stderr, _dir) = run_check(&with_mirror(&dir.path().join("new/mirror").display().to_string()));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!dir.path().join("new").exists(), "checking creates nothing");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the write check leaves nothing behind");
}
