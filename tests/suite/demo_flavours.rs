//! `twotrack demo --apply` against Jira Data Center as against Jira Cloud: the same generated backlog
//! gives the same audit, the same moves carried out and the same state after, whichever Jira the
//! simulator is (REST v3 and enhanced search with an API token, or REST v2 and offset search with a
//! personal access token).

use std::path::Path;
use std::process::Command;

/// Run the demo with `flavour` into `out`; its standard output.
fn demo(flavour: &str, out: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .args(["demo", "-q", "--apply", "--items", "120", "--seed", "7", "--jira-flavour", flavour])
        .arg("--out")
        .arg(out)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "demo --jira-flavour {flavour}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The lines that say what was found and done (not where the simulators listened, files went, or how
/// long a pull took).
fn outcome(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| !l.starts_with("Simulated ") && !l.starts_with("Report") && !l.starts_with("Configuration"))
        .map(|l| l.rsplit_once(" in ").filter(|(_, t)| t.ends_with('s')).map_or(l, |(head, _)| head))
        .collect()
}

#[test]
fn the_demo_moves_the_same_items_against_data_center_as_against_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = demo("cloud", &dir.path().join("cloud"));
    let dc = demo("datacenter", &dir.path().join("dc"));

    assert!(cloud.contains("Simulated Jira (Cloud)"), "{cloud}");
    assert!(dc.contains("Simulated Jira (Data Center)"), "{dc}");
    let config = std::fs::read_to_string(dir.path().join("dc").join("twotrack.toml")).unwrap();
    assert!(config.contains("flavour = \"datacenter\"") && config.contains("type = \"bearer\""), "{config}");

    let applied = dc.lines().find(|l| l.starts_with("Applied:")).unwrap_or_else(|| panic!("no Applied line:\n{dc}"));
    let numbers: Vec<usize> = applied.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    let [planned, done, dropped, failed] = numbers[..] else { panic!("{applied}") };
    assert!(planned >= 10 && done == planned && dropped == 0 && failed == 0, "{applied}");
    assert!(dc.contains("-> 0 to move"), "nothing is left to move after apply:\n{dc}");
    assert_eq!(outcome(&dc), outcome(&cloud), "the same backlog gives the same outcome in both flavours");
}

#[test]
fn an_unknown_flavour_is_a_usage_error_that_names_the_choices() {
    let output = Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .args(["sim", "--jira-flavour", "onprem"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cloud or datacenter"), "{stderr}");
}
