//! `twotrack classify` and `twotrack rules test`, black-box.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// The binary, run in an empty directory (so no `twotrack.toml` is found) without a config variable.
fn twotrack(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("twotrack").unwrap();
    cmd.current_dir(dir).env_remove("TWOTRACK_CONFIG");
    cmd
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

const INPUT: &str = r#"{"id": "SHOP-1", "tracker": "jira", "type": "Task", "summary": "Please reset my password, I am locked out"}
{"id": "INC-2", "tracker": "servicenow", "type": "incident", "summary": "Tax is wrong for Canadian addresses", "description": "Steps to reproduce: ship to Toronto. Expected 13% HST, actual 0."}

{"id": "SHOP-3", "tracker": "jira", "summary": "Add dark mode to the settings page", "labels": ["ux"]}
"#;

#[test]
fn classify_writes_one_verdict_per_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = twotrack(dir.path()).arg("classify").write_stdin(INPUT).assert().success();
    let out =
        out.stderr(predicate::str::contains("classified 3 items: 2 value, 1 work; 2 misfiled")).get_output().clone();
    let v = lines(&out.stdout);
    assert_eq!(v.len(), 3);
    let ids: Vec<&str> = v.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["SHOP-1", "INC-2", "SHOP-3"]);

    assert_eq!(v[0]["class"], "work");
    assert_eq!(v[0]["kind"], "request");
    assert_eq!(v[0]["filed_as"], "product");
    assert_eq!(v[0]["misfiled"], true);
    assert_eq!(v[0]["action"], "move");
    assert_eq!(v[0]["queue"], "access");
    assert!(v[0]["priority"].as_u64().is_some_and(|p| (1..=5).contains(&p)));
    assert!(v[0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("password")));

    assert_eq!(v[1]["class"], "value");
    assert_eq!(v[1]["kind"], "defect");
    assert_eq!(v[1]["filed_as"], "service");
    assert_eq!(v[1]["misfiled"], true);
    assert_eq!(v[1]["priority"], Value::Null);
    assert_eq!(v[1]["queue"], Value::Null);

    assert_eq!(v[2]["class"], "value");
    assert_eq!(v[2]["action"], "keep");
    let confidence = v[2]["confidence"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&confidence));
}

#[test]
fn classify_reads_a_file_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("items.jsonl");
    std::fs::write(&file, format!("{INPUT}{{\"id\": \"X\", \"summary\": \"no tracker\"}}\n")).unwrap();
    twotrack(dir.path())
        .args(["classify", "items.jsonl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 5").and(predicate::str::contains("--skip-invalid")));

    let input =
        format!("{INPUT}not json\n{{\"id\": \"Y\", \"tracker\": \"gitlab\", \"summary\": \"unknown tracker\"}}\n");
    let mut cmd = twotrack(dir.path());
    cmd.args(["classify", "--skip-invalid", "-"]).write_stdin(input);
    let out = cmd.assert().success().stderr(predicate::str::contains("2 skipped")).get_output().clone();
    assert_eq!(lines(&out.stdout).len(), 3);
}

#[test]
fn classify_uses_the_configured_tracker_names_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/twotrack.example.toml"))
        .unwrap()
        .replacen("name = \"jira\"", "name = \"shop-backlog\"", 1);
    let config = format!(
        "{example}\n[[rule]]\nid = \"frobnicator\"\nmatch = [\"frobnicat*\"]\nclass = \"work\"\nkind = \"request\"\nweight = 5\n"
    );
    std::fs::write(dir.path().join("twotrack.toml"), config).unwrap();
    let input = "{\"id\": \"1\", \"tracker\": \"shop-backlog\", \"summary\": \"Frobnicator access for Kim\"}\n";
    let out = twotrack(dir.path())
        .arg("classify")
        .env("JIRA_TOKEN", "x")
        .env("SERVICENOW_TOKEN", "y")
        .write_stdin(input)
        .assert()
        .success()
        .get_output()
        .clone();
    let v = lines(&out.stdout);
    assert_eq!(v[0]["filed_as"], "product");
    assert_eq!(v[0]["class"], "work");
    assert!(v[0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().starts_with("frobnicator")));

    // A broken configuration is a usage error, not a silent fallback to the defaults.
    std::fs::write(dir.path().join("twotrack.toml"), "[[tracker]]\nname = 3\n").unwrap();
    twotrack(dir.path()).arg("classify").write_stdin(input).assert().code(2);
}

#[test]
fn rules_test_passes_on_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    twotrack(dir.path())
        .args(["rules", "test"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^\d+ passed, 0 failed$").unwrap());
}

#[test]
fn rules_test_runs_the_cases_of_a_file_and_fails_on_a_wrong_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"
[[rule]]
id = "acme-frobnicator"
description = "Frobnicator tickets are service requests here"
match = ["frobnicat*"]
class = "work"
kind = "request"
weight = 4

[[test]]
summary = "frobnicator quota please"
class = "work"
kind = "request"
"#;
    std::fs::write(dir.path().join("good.toml"), good).unwrap();
    twotrack(dir.path())
        .args(["rules", "test", "good.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok    good.toml #1: frobnicator quota please"));

    let wrong = format!("{good}\n[[test]]\nsummary = \"frobnicator quota please\"\nclass = \"value\"\n");
    std::fs::write(dir.path().join("wrong.toml"), wrong).unwrap();
    twotrack(dir.path()).args(["rules", "test", "wrong.toml"]).assert().code(1).stdout(
        predicate::str::contains("FAIL  wrong.toml #2")
            .and(predicate::str::contains("class: expected value, got work")),
    );
}

#[test]
fn rules_test_reports_an_invalid_file_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[[rule]]\nid = \"x\"\nweight = \"heavy\"\n").unwrap();
    twotrack(dir.path())
        .args(["rules", "test", "bad.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml:3:10"));

    std::fs::write(dir.path().join("phrase.toml"), "[[rule]]\nid = \"broken\"\nmatch = [\"{a,b\"]\nclass = \"work\"\n")
        .unwrap();
    twotrack(dir.path())
        .args(["rules", "test", "phrase.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("rule \"broken\""));
}

#[test]
fn explain_shows_the_verdict_and_reasons_of_a_mirrored_item() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    {
        let mirror = twotrack::mirror::Mirror::open(&path).unwrap();
        let mut item = twotrack_api::Item::new("jira", "SHOP-7", "Please reset my password, I am locked out");
        item.filed_type = "Task".into();
        mirror.upsert_item(&item).unwrap();
        mirror.flush().unwrap();
    }
    twotrack(dir.path()).args(["explain", "shop-7", "--mirror"]).arg(&path).assert().success().stdout(
        predicate::str::contains("SHOP-7 in jira")
            .and(predicate::str::contains("work / request"))
            // One item is no site to learn from: the audit would only flag it, and so does explain.
            .and(predicate::str::contains("possibly misfiled (P(misfiled) "))
            .and(predicate::str::contains("action: review"))
            .and(predicate::str::contains("site model: not learned (1 backlog and 0 service-queue items"))
            .and(predicate::str::contains("work-password")),
    );
    let out = twotrack(dir.path()).args(["explain", "SHOP-7", "--json", "--mirror"]).arg(&path).assert().success();
    let v = lines(&out.get_output().stdout);
    assert_eq!(v[0]["id"], "SHOP-7");
    assert_eq!(v[0]["action"], "review");
    assert!(v[0]["p_misfiled"].as_f64().is_some_and(|p| p >= 0.35), "{}", v[0]);
    twotrack(dir.path()).args(["explain", "NOPE-1", "--mirror"]).arg(&path).assert().code(1);
}

/// A generated site (the simulator's generator, with its truth) as `classify` input lines, and the
/// truth: whether each line is misfiled.
fn generated_site(per_tracker: usize, misfiled_share: f64) -> (String, Vec<bool>) {
    use twotrack_sim::generator::{GenOptions, Home, generate};
    let items = generate(&GenOptions { seed: 5, items_per_tracker: per_tracker, misfiled_share });
    let (mut text, mut truth) = (String::new(), Vec::new());
    for (i, g) in items.into_iter().enumerate() {
        let tracker = match g.home {
            Home::Jira => "jira",
            Home::ServiceNow => "servicenow",
        };
        let line = serde_json::json!({
            "id": format!("GEN-{i}"), "tracker": tracker, "type": g.filed_type,
            "summary": g.summary, "description": g.description, "labels": g.labels,
        });
        text += &format!("{line}\n");
        truth.push((g.truth.class == "work") != (tracker == "servicenow"));
    }
    (text, truth)
}

#[test]
fn classify_site_learns_the_input_as_one_site_and_moves_only_where_the_evidence_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let (input, truth) = generated_site(150, 0.08);
    let out = twotrack(dir.path()).args(["classify", "--site"]).write_stdin(input).assert().success();
    let v = lines(&out.get_output().stdout);
    assert_eq!(v.len(), truth.len());
    for (i, line) in v.iter().enumerate() {
        assert_eq!(line["id"], format!("GEN-{i}"), "verdicts come in input order");
        let p = line["p_misfiled"].as_f64().expect("a calibrated probability on every line");
        assert!((0.0..=1.0).contains(&p));
    }
    let action = |l: &Value| l["action"].as_str().unwrap().to_string();
    let moves: Vec<usize> = (0..v.len()).filter(|&i| action(&v[i]) == "move").collect();
    let found = (0..v.len()).filter(|&i| truth[i] && action(&v[i]) != "keep").count();
    let reviews = (0..v.len()).filter(|&i| action(&v[i]) == "review").count();
    let misfiled = truth.iter().filter(|&&m| m).count();
    assert!(!moves.is_empty());
    for &i in &moves {
        assert!(truth[i], "a correctly filed item was moved: {}", v[i]);
        assert!(v[i]["p_misfiled"].as_f64().unwrap() >= 0.95);
        let reasons = v[i]["reasons"].as_array().unwrap();
        let said = |rule: &str| reasons.iter().any(|r| r.as_str().unwrap().starts_with(rule));
        assert!(said("fused") && said("site-model") && said("site-prior"), "{}", v[i]);
    }
    assert!(found as f64 >= 0.85 * misfiled as f64, "found {found} of {misfiled} misfiled");
    assert!((reviews as f64) < 0.1 * v.len() as f64, "{reviews} reviews of {}", v.len());
}

#[test]
fn classify_site_on_too_few_items_moves_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = twotrack(dir.path()).args(["classify", "--site"]).write_stdin(INPUT).assert().success();
    let v = lines(&out.get_output().stdout);
    assert_eq!(v.len(), 3);
    for line in &v {
        assert_ne!(line["action"], "move", "{line}");
        let reasons = line["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|r| r.as_str().unwrap().contains("site model: not learned")), "{line}");
    }
    // The clear password reset in the backlog is still worth a human's look.
    assert_eq!(v[0]["action"], "review", "{}", v[0]);
}

#[test]
fn classify_site_keeps_an_item_without_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (mut input, _) = generated_site(60, 0.05);
    input += r#"{"id": "EMPTY-1", "tracker": "jira", "summary": ""}"#;
    input += "\n";
    let out = twotrack(dir.path()).args(["classify", "--site"]).write_stdin(input).assert().success();
    let v = lines(&out.get_output().stdout);
    let empty = v.last().unwrap();
    assert_eq!(empty["id"], "EMPTY-1");
    assert_eq!(empty["action"], "keep", "{empty}");
    assert_eq!(empty["class"], "value", "an item stays what its tracker holds without evidence: {empty}");
}

#[test]
fn classify_skips_a_line_that_is_not_utf8_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = b"{\"id\": \"A-1\", \"tracker\": \"jira\", \"summary\": \"Reset my password\"}\n".to_vec();
    input.extend_from_slice(b"{\"id\": \"A-2\", \"tracker\": \"jira\", \"summary\": \"caf\xe9 \xff broken\"}\n");
    input.extend_from_slice(b"{\"id\": \"A-3\", \"tracker\": \"jira\", \"summary\": \"Add dark mode\"}\n");
    twotrack(dir.path())
        .arg("classify")
        .write_stdin(input.clone())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 2: not valid UTF-8").and(predicate::str::contains("--skip-invalid")));
    for site in [false, true] {
        let mut cmd = twotrack(dir.path());
        cmd.args(["classify", "--skip-invalid"]);
        if site {
            cmd.arg("--site");
        }
        let out = cmd.write_stdin(input.clone()).assert().success().get_output().clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1 skipped (line 2)"), "site {site}: {stderr}");
        let ids: Vec<String> = lines(&out.stdout).iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(ids, ["A-1", "A-3"], "site {site}");
    }
}

#[test]
fn classify_reads_only_the_first_bytes_of_a_long_text_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A 4 MB summary on one line: read up to the cap, the rest skipped as it streams by.
    let long = "the checkout page is down for everyone ".repeat(100_000);
    let input = format!(
        "{}\n{}\n",
        serde_json::json!({"id": "INC-1", "tracker": "servicenow", "type": "incident", "summary": long}),
        serde_json::json!({"id": "INC-2", "tracker": "servicenow", "summary": "Printer on floor 3 is jammed"}),
    );
    for (args, cap) in [(&["classify"][..], "65536"), (&["classify", "--max-text-bytes", "100", "--site"][..], "100")] {
        let out = twotrack(dir.path()).args(args).write_stdin(input.clone()).assert().success().get_output().clone();
        let v = lines(&out.stdout);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["class"], "work", "{args:?}: the text read is still classified");
        let reasons: Vec<&str> = v[0]["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        let cut = format!("summary: only the first {cap} of its {} bytes were read (--max-text-bytes)", long.len());
        assert!(reasons.iter().any(|r| r.contains(&cut)), "{args:?}: {reasons:?}");
        let short: Vec<&Value> = v[1]["reasons"].as_array().unwrap().iter().collect();
        assert!(short.iter().all(|r| !r.as_str().unwrap().contains("text-cut")), "{short:?}");
    }
    twotrack(dir.path())
        .args(["classify", "--max-text-bytes", "0"])
        .write_stdin(input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-text-bytes"));
}

#[test]
fn a_large_input_is_judged_on_every_core_and_written_in_order_with_bad_lines_named() {
    // More lines than the readers hand the workers at once (2,048 a chunk), a bad one far in.
    let dir = tempfile::tempdir().unwrap();
    let (input, truth) = generated_site(2200, 0.05);
    let mut lines_in: Vec<&str> = input.lines().collect();
    lines_in.insert(4100, "not json");
    let input = lines_in.join("\n") + "\n";
    for site in [false, true] {
        let args: &[&str] = if site { &["classify", "--site"] } else { &["classify"] };
        twotrack(dir.path()).args(args).write_stdin(input.clone()).assert().code(2).stderr(
            predicate::str::contains("line 4101: not a valid item").and(predicate::str::contains("--skip-invalid")),
        );
        let out = twotrack(dir.path())
            .args(args)
            .arg("--skip-invalid")
            .write_stdin(input.clone())
            .assert()
            .success()
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("classified {} items", truth.len())), "site {site}: {stderr}");
        assert!(stderr.contains("1 skipped (line 4101)"), "site {site}: {stderr}");
        let ids: Vec<String> = lines(&out.stdout).iter().map(|v| v["id"].as_str().unwrap().to_string()).collect();
        let expected: Vec<String> = (0..truth.len()).map(|i| format!("GEN-{i}")).collect();
        assert_eq!(ids, expected, "site {site}: every verdict, in input order");
    }
}
