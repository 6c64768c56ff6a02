//! Secrets never leave the process: not in Debug output, `config show`, error messages, or logs at
//! trace level. Every source is covered: an environment variable, a file, and an inline value.

use std::path::Path;

use assert_cmd::Command;

const ENV_SECRET: &str = "env-SECRET-7f3a9c";
const FILE_SECRET: &str = "file-SECRET-b81d2e";
const INLINE_SECRET: &str = "inline-SECRET-55c0aa";

const SECRETS: [&str; 3] = [ENV_SECRET, FILE_SECRET, INLINE_SECRET];

/// Three trackers, one per way of giving a token; the file secret lives next to the file.
fn config(dir: &Path) -> String {
    std::fs::write(dir.join("sn.token"), format!("{FILE_SECRET}\n")).unwrap();
    format!(
        r#"[[tracker]]
name = "jira"
kind = "jira"
role = "product"
base_url = "https://example.atlassian.net"
auth = {{ user = "bot@example.com", token = {{ env = "TWOTRACK_SECRET_TEST_TOKEN" }} }}
scope = {{ projects = ["SHOP"] }}

[[tracker]]
name = "servicenow"
kind = "servicenow"
role = "service"
base_url = "https://example.service-now.com"
auth = {{ user = "twotrack", token = {{ file = "sn.token" }} }}

[[tracker]]
name = "jira-dc"
kind = "jira"
role = "product"
flavour = "datacenter"
base_url = "https://jira.example.com"
auth = {{ type = "bearer", token = "{INLINE_SECRET}" }}
scope = {{ jql = "project = OPS" }}
targets = {{ project = "OPS" }}
"#
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} contains the secret {secret}:\n{text}");
    }
}

/// Run `twotrack <args> --config <file>` with the env secret set in the child only.
fn run(dir: &Path, file: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("twotrack")
        .unwrap()
        .args(args)
        .arg("--config")
        .arg(dir.join(file))
        .env("TWOTRACK_SECRET_TEST_TOKEN", ENV_SECRET)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn debug_output_of_the_configuration_has_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    // In-process: the env-var tracker is swapped for a file so no process-wide variable is needed.
    let text = config(dir.path()).replace(r#"{ env = "TWOTRACK_SECRET_TEST_TOKEN" }"#, r#"{ file = "sn.token" }"#);
    let config = twotrack::config::parse_str(&text, &dir.path().join("t.toml")).unwrap();
    assert_no_secret("Debug", &format!("{config:?}\n{config:#?}"));
    assert_no_secret("Debug of a tracker", &format!("{:?}", config.tracker("jira-dc").unwrap()));
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    assert_no_secret("warnings", &warnings.join("\n"));
}

#[test]
fn config_show_and_trace_logs_have_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.toml"), config(dir.path())).unwrap();
    let (code, stdout, stderr) = run(dir.path(), "t.toml", &["-vv", "config", "show"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.matches("token = \"[redacted]\"").count(), 3, "{stdout}");
    assert_no_secret("config show", &stdout);
    assert!(stderr.contains("TRACE") && stderr.contains("resolved configuration"), "trace logging is on: {stderr}");
    assert_no_secret("trace logs", &stderr);

    let (code, stdout, stderr) = run(dir.path(), "t.toml", &["-vv", "--log-format", "json", "config", "check"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("\"level\":\"TRACE\""), "{stderr}");
    assert_no_secret("check output", &stdout);
    assert_no_secret("JSON trace logs", &stderr);
}

#[test]
fn error_messages_have_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    // Break the file around the secrets: a bad cron, a secret of the wrong type, an unknown key
    // next to a secret, bearer with a user, credentials in a URL.
    let text = config(dir.path())
        .replace(
            "[[tracker]]\nname = \"servicenow\"",
            "[schedule]\nsync = \"never\"\n\n[[tracker]]\nname = \"servicenow\"",
        )
        .replace("user = \"twotrack\"", &format!("user = \"twotrack\", passwd = \"{INLINE_SECRET}\""))
        .replace(
            "auth = { type = \"bearer\", token",
            &format!("auth = {{ type = \"bearer\", user = \"{INLINE_SECRET}\", token"),
        )
        .replace("https://jira.example.com", &format!("https://admin:{INLINE_SECRET}@jira.example.com"))
        + &format!(
            "\n[policy]\nkeep_label = {{ value = \"{INLINE_SECRET}\" }}\nmove_threshold = \"{INLINE_SECRET}\"\n"
        );
    std::fs::write(dir.path().join("bad.toml"), &text).unwrap();
    let (code, stdout, stderr) = run(dir.path(), "bad.toml", &["-vv", "config", "check"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("6 problems"), "{stderr}");
    assert_no_secret("errors", &format!("{stdout}{stderr}"));

    // The error value itself, in-process.
    let text = text.replace(r#"{ env = "TWOTRACK_SECRET_TEST_TOKEN" }"#, r#"{ file = "sn.token" }"#);
    let errors = twotrack::config::parse_str(&text, &dir.path().join("bad.toml")).unwrap_err();
    assert_no_secret("ConfigErrors", &format!("{errors}\n{errors:?}"));
}
