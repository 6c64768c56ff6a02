//! `twotrack config check --online` and `twotrack config queues --online` against both simulators
//! (loopback): what the trackers have is listed, and every configured value they lack is flagged with a
//! did-you-mean and exit 2.

use std::path::{Path, PathBuf};

use twotrack::demo::{World, WorldOptions};

async fn world() -> World {
    World::start(&WorldOptions { items: 40, ..WorldOptions::default() }).await.unwrap()
}

/// A configuration for the world's simulators, with `servicenow_extra` added to the ServiceNow tracker,
/// `jira_extra` to the Jira tracker and `tail` at the end.
fn write_config(world: &World, dir: &Path, jira_extra: &str, servicenow_extra: &str, tail: &str) -> PathBuf {
    let (user, token) = world.basic();
    std::fs::write(dir.join("token"), token).unwrap();
    let text = format!(
        "[[tracker]]\nname = \"jira\"\nkind = \"jira\"\nrole = \"product\"\nbase_url = \"{jira}\"\n\
         auth = {{ user = \"{user}\", token = {{ file = \"token\" }} }}\nscope = {{ projects = [\"SHOP\"] }}\n{jira_extra}\n\n\
         [[tracker]]\nname = \"servicenow\"\nkind = \"servicenow\"\nrole = \"service\"\nbase_url = \"{sn}\"\n\
         auth = {{ user = \"{user}\", token = {{ file = \"token\" }} }}\n\
         scope = {{ tables = [\"incident\", \"sc_req_item\", \"rm_story\"] }}\n{servicenow_extra}\n\n\
         [mirror]\npath = \"mirror\"\n\n{tail}\n",
        jira = world.jira.base_url(),
        sn = world.servicenow.base_url(),
    );
    let path = dir.join("twotrack.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run(config: &Path, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_twotrack"))
        .stdin(std::process::Stdio::null())
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The `MISSING` lines of an online check.
fn missing(stdout: &str) -> Vec<&str> {
    stdout.lines().map(str::trim).filter(|l| l.starts_with("MISSING")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_matching_the_trackers_passes_and_lists_what_they_have() {
    let world = world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &world,
        dir.path(),
        "targets = { resolution = \"Won't Do\" }",
        "",
        "[[queue]]\nname = \"database\"\ngroup = \"Database Administration\"\n",
    );
    let r = run(&config, &["config", "check", "--online"]).await;
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(missing(&r.stdout).is_empty(), "{}", r.stdout);
    for expected in [
        "assignment groups (",
        "Database Administration",
        "Service Desk",
        "project SHOP \"Web Shop\": issue types ",
        "Story",
        "resolutions: ",
        "transitions from ",
        "journal (sys_journal_field): readable",
    ] {
        assert!(r.stdout.contains(expected), "missing {expected:?} in:\n{}", r.stdout);
    }
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_denied_to_the_account_is_said_and_is_no_error() {
    let options = WorldOptions {
        items: 10,
        servicenow_denied_tables: vec!["sys_journal_field".into()],
        ..WorldOptions::default()
    };
    let world = World::start(&options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&world, dir.path(), "", "", "");
    let r = run(&config, &["config", "check", "--online"]).await;
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("journal (sys_journal_field): denied to this account; each note is confirmed by a marker label"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("readable; notes are checked"), "{}", r.stdout);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_configured_value_the_trackers_lack_is_flagged_with_a_did_you_mean() {
    let world = world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &world,
        dir.path(),
        "targets = { feature_type = \"Storey\", defect_type = \"Bug\", close_transition = \"Finish\", resolution = \"Wont Do\" }",
        "targets = { close_state = \"Closed\", agile_close_state = \"4\" }",
        "[[queue]]\nname = \"database\"\ngroup = \"Database Admins\"\n\n\
         [[queue]]\nname = \"payments\"\ngroup = \"Payments Ops\"\nterms = [\"refund\"]\n",
    );
    let r = run(&config, &["config", "check", "--online"]).await;
    assert_eq!(r.code, Some(2), "{}\n{}", r.stdout, r.stderr);
    let flagged = missing(&r.stdout);
    let expect = [
        "[[queue]] \"database\": group \"Database Admins\" is not an active assignment group here; did you mean \"Database Administration\"?",
        "[[queue]] \"payments\": group \"Payments Ops\" is not an active assignment group here",
        "targets.close_state = \"Closed\" is not a value of incident.state; did you mean \"7\" (the value of \"Closed\")?",
        "targets.feature_type = \"Storey\" is not an issue type of project SHOP; did you mean \"Story\"?",
        "targets.resolution = \"Wont Do\" is not a resolution here; did you mean \"Won't Do\"?",
        "targets.close_transition = \"Finish\" is not offered in any open status (transitions from ",
    ];
    for e in expect {
        assert!(flagged.iter().any(|l| l.contains(e)), "not flagged: {e:?}\n{}", r.stdout);
    }
    assert_eq!(flagged.len(), expect.len() + 1, "close_state also on sc_req_item: {flagged:#?}");
    assert!(r.stderr.contains("not found on the trackers (see MISSING above)"), "{}", r.stderr);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_online_proposes_entries_from_the_instance_groups_that_paste_into_a_valid_file() {
    let world = world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&world, dir.path(), "", "", "");
    let r = run(&config, &["config", "queues", "--online"]).await;
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("# PROPOSED [[queue]] entries"), "{}", r.stdout);
    // Every active group of the instance is named: as an entry, or as the group of a queue already.
    for group in ["Database Administration", "Identity & Access", "Network Operations", "Service Desk", "Web Shop Team"]
    {
        assert!(r.stdout.contains(&format!("\"{group}\"")), "{group} not named in:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("# \"Service Desk\": already the group of queue \"service-desk\""), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("name = \"web-shop-team\"\ngroup = \"Web Shop Team\"\nterms = [\"web\", \"shop\", \"online\"]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "name = \"database\"\ngroup = \"Database Administration\"\n# sets the group of the built-in queue"
        ),
        "{}",
        r.stdout
    );

    // Pasted as is into the configuration, it checks out.
    let text = std::fs::read_to_string(&config).unwrap() + "\n" + &r.stdout;
    std::fs::write(&config, text).unwrap();
    let check = run(&config, &["config", "check"]).await;
    assert_eq!(check.code, Some(0), "{}\n{}", check.stdout, check.stderr);
    // And now every group of the instance is routed to: the online check has no note about a missing one.
    let online = run(&config, &["config", "check", "--online"]).await;
    assert_eq!(online.code, Some(0), "{}\n{}", online.stdout, online.stderr);
    let shown = run(&config, &["config", "queues"]).await;
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert!(shown.stdout.contains("group = \"Web Shop Team\""), "{}", shown.stdout);
    world.shutdown().await;
}
