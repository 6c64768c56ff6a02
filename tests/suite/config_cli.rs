//! `twotrack config init | check | show | schema`, black-box, and the shipped example file.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/twotrack.example.toml")
}

/// `twotrack` with the example's tokens set in the child's environment only.
fn twotrack() -> Command {
    let mut cmd = Command::cargo_bin("twotrack").unwrap();
    cmd.env("JIRA_TOKEN", "jira-test-token")
        .env("SERVICENOW_TOKEN", "servicenow-test-token")
        .env_remove("TWOTRACK_CONFIG")
        .env_remove("RUST_LOG");
    cmd
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn the_example_file_is_valid() {
    let out = twotrack().args(["config", "check", "--config"]).arg(example_path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(summary.contains(": ok: 2 trackers: jira (jira product), servicenow (servicenow service)"), "{summary}");
    assert!(summary.contains("dry run"), "{summary}");
    assert!(stderr(&out).is_empty(), "the example has no warnings: {}", stderr(&out));
}

#[test]
fn unset_token_variables_warn_offline_and_fail_where_the_tokens_are_needed() {
    let without_tokens = |args: &[&str]| {
        twotrack()
            .env_remove("JIRA_TOKEN")
            .env_remove("SERVICENOW_TOKEN")
            .args(args)
            .arg("--config")
            .arg(example_path())
            .output()
            .unwrap()
    };
    // An offline check validates the file; the daemon may get its environment elsewhere.
    let out = without_tokens(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: tracker \"jira\": environment variable `JIRA_TOKEN` is not set in this shell"),
        "{err}"
    );
    assert!(err.contains("environment variable `SERVICENOW_TOKEN` is not set"), "{err}");
    assert!(err.contains(":45:17: warning"), "warnings carry line:col: {err}");
    // Anything that talks to a tracker needs them: exit 2 with the same located message as an error.
    for args in [&["config", "check", "--online"][..], &["sync"][..]] {
        let out = without_tokens(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(":45:17: error: tracker \"jira\": environment variable `JIRA_TOKEN` is not set"),
            "{args:?}: {err}"
        );
        assert!(err.contains("environment variable `SERVICENOW_TOKEN` is not set"), "{args:?}: {err}");
    }
}

#[test]
fn init_writes_the_example_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/x.toml");
    let example = std::fs::read_to_string(example_path()).unwrap();

    let out = twotrack().args(["config", "init"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), example);

    // What init wrote checks out as is.
    let out = twotrack().args(["config", "check", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    std::fs::write(&path, "# mine\n").unwrap();
    let out = twotrack().args(["config", "init"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists; pass --force"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n", "refused init must not touch the file");

    let out = twotrack().args(["config", "init", "--force"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), example);
}

#[test]
fn init_and_check_default_to_twotrack_toml_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = twotrack().current_dir(dir.path()).args(["config", "init"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("twotrack.toml").is_file());
    let out = twotrack().current_dir(dir.path()).args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("twotrack.toml: ok:"), "{}", stdout(&out));
}

#[test]
fn show_prints_the_resolved_configuration_which_reads_back() {
    let out = twotrack().args(["config", "show", "--config"]).arg(example_path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    for expected in [
        "[[tracker]]",
        "flavour = \"cloud\"",
        "token = \"[redacted]\"",
        "project = \"SHOP\"",
        "tables = [",
        "[policy]\ndry_run = true\nmove_threshold = 0.95\nreview_threshold = 0.35\nrules_may_move_alone = false\n",
        "[[queue]]\nname = \"database\"",
        "listen = \"127.0.0.1:9464\"",
    ] {
        assert!(shown.contains(expected), "missing {expected:?} in:\n{shown}");
    }

    // The output is itself a valid configuration (the redacted tokens read back as inline secrets).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("shown.toml");
    std::fs::write(&copy, &shown).unwrap();
    let out = twotrack().args(["config", "check", "--config"]).arg(&copy).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches("warning: ").count(), 2, "{}", stderr(&out));
}

#[test]
fn check_prints_warnings_with_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let example = std::fs::read_to_string(example_path()).unwrap();
    let text = example.replace("token = { env = \"JIRA_TOKEN\" }", "token = \"written-inline\"");
    let line = text.lines().position(|l| l.starts_with("token = \"written-inline\"")).unwrap() + 1;
    std::fs::write(&path, text).unwrap();
    let out = twotrack().args(["config", "check", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let expected = format!(
        "{}:{line}:9: warning: tracker \"jira\": the token is written in the configuration file",
        path.display()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(err.contains("help: move it to an environment variable"), "{err}");
}

#[test]
fn schema_is_a_json_schema_of_the_file() {
    let out = twotrack().args(["config", "schema"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(schema["$schema"].as_str().is_some_and(|s| s.contains("json-schema.org")), "{schema}");
    assert_eq!(schema["title"], "twotrack configuration");
    assert_eq!(schema["additionalProperties"], false);
    let policy = &schema["$defs"]["RawPolicy"]["properties"]["move_threshold"];
    assert!(policy["description"].as_str().is_some_and(|d| d.contains("Probability")), "{policy}");
    let tracker = &schema["$defs"]["RawTracker"];
    assert_eq!(tracker["properties"]["kind"]["enum"], serde_json::json!(["jira", "servicenow"]));
    assert_eq!(tracker["required"], serde_json::json!(["name", "kind", "role", "base_url", "auth"]));
}

/// Every line of `stderr` parsed as a JSON object.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\nall:\n{stderr}")))
        .collect()
}

#[test]
fn configuration_problems_are_json_lines_under_log_format_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let example = std::fs::read_to_string(example_path()).unwrap();
    let text = example.replace("# move_threshold = 0.95", "move_threshold = 1.5").replace("[daemon]", "[daemn]");
    std::fs::write(&path, &text).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;

    // `config check` and another command that loads the configuration.
    for args in [&["config", "check"][..], &["audit"][..], &["sync"][..]] {
        let out = twotrack().args(["--log-format", "json"]).args(args).arg("--config").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let problems = json_lines(&stderr(&out));
        assert_eq!(problems.len(), 2, "{args:?}: one object per problem: {problems:#?}");
        for p in &problems {
            assert_eq!(p["file"], path.display().to_string(), "{p}");
            assert_eq!((p["severity"].as_str(), p["level"].as_str()), (Some("error"), Some("ERROR")), "{p}");
            assert!(p["help"].as_str().is_some_and(|h| !h.is_empty()) && p["timestamp"].is_string(), "{p}");
        }
        assert_eq!(problems[0]["line"], line_of("move_threshold ="), "{problems:#?}");
        assert_eq!(problems[0]["col"], 18);
        assert!(problems[0]["message"].as_str().unwrap().contains("`policy.move_threshold` is 1.5"));
        assert_eq!(problems[1]["line"], line_of("[daemn]"));
        assert_eq!(problems[1]["message"], "unknown key `daemn` at the top level");
    }

    // A file that cannot be read: the whole file, no position.
    let missing = dir.path().join("no.toml");
    let out = twotrack().args(["--log-format", "json", "config", "check", "--config"]).arg(missing).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let problems = json_lines(&stderr(&out));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0]["line"].is_null() && problems[0]["col"].is_null(), "{problems:#?}");

    // Warnings too, with their severity; the summary stays on stdout.
    std::fs::write(&path, example.replace("token = { env = \"JIRA_TOKEN\" }", "token = \"written-inline\"")).unwrap();
    let out = twotrack().args(["--log-format", "json", "config", "check", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let warnings = json_lines(&stderr(&out));
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!((warnings[0]["severity"].as_str(), warnings[0]["level"].as_str()), (Some("warning"), Some("WARN")));
    assert!(!stderr(&out).contains("written-inline"), "no secret in the warning");
    assert!(stdout(&out).contains(": ok: "), "{}", stdout(&out));

    // Any other error that ends a command is one JSON object as well.
    let out = twotrack().args(["--log-format", "json", "config", "init"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let errors = json_lines(&stderr(&out));
    assert!(errors[0]["message"].as_str().is_some_and(|m| m.contains("already exists")), "{errors:#?}");
}
