//! A move whose source did not change is carried out as planned: the saga judges the source again as
//! read back from its tracker, and evidence summed in another order (labels, fields) differs in the
//! last bits of the confidence; that is no new decision, and the item's history must not say
//! "re-evaluated" for it (it did for every move of the demo).

use std::process::Command;

#[test]
fn unchanged_sources_are_moved_as_planned_without_re_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let twotrack = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_twotrack")).args(args).env_remove("RUST_LOG").output().unwrap();
        assert!(output.status.success(), "twotrack {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    twotrack(&["demo", "--apply", "-q", "--out", out.to_str().unwrap()]);
    let config = out.join("twotrack.toml");
    let config = config.to_str().unwrap();
    let listed: serde_json::Value =
        serde_json::from_str(&twotrack(&["--config", config, "outbox", "list", "--format", "json"])).unwrap();
    let done: Vec<String> = listed["corrections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "done" && c["action"] == "move")
        .map(|c| c["source"].as_str().unwrap().rsplit(':').next().unwrap().to_string())
        .collect();
    assert!(done.len() >= 10, "the demo moves items: {listed}");
    for key in &done {
        let history = twotrack(&["--config", config, "history", key]);
        assert!(history.contains(" created "), "{key}:\n{history}");
        assert!(!history.contains("re-evaluated"), "{key} was not changed, yet re-evaluated:\n{history}");
    }
}
