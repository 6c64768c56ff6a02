//! `twotrack sync` and `twotrack config check --online` as a user runs them: the binary as a child process
//! against the simulators in the test process.
//! - A partitioned sync killed with SIGKILL at several moments and run again yields the simulators' truth,
//!   the same mirror as an uninterrupted run.
//! - A rejected token gives a message naming the tracker and what to check, and the token is not printed.
//! - `config check --online` says OK per tracker, or FAILED with the tracker and what to check.

use crate::sync_support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use sync_support::*;
use twotrack::demo::World;
use twotrack::mirror::Mirror;
use twotrack_sim::faults::FaultSpec;

const SEED: u64 = 11;

/// The `pulled` figure of `tracker`'s summary line (`jira  pulled  123  new ...`).
fn pulled(stdout: &str, tracker: &str) -> usize {
    let line = stdout.lines().find(|l| l.split_whitespace().next() == Some(tracker)).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "pulled").unwrap_or_else(|| panic!("no pulled in {line:?}"));
    words[at + 1].parse().unwrap()
}

/// Requests for data (Jira searches, ServiceNow table reads) the simulators answered.
fn data_requests(world: &World) -> usize {
    world.jira.log().count("POST", JIRA_SEARCH)
        + table_requests(&world.servicenow.log()).iter().map(|(_, n)| n).sum::<usize>()
}

/// Run `sync` (with `args`) and kill it with SIGKILL once the simulators answered `after` more data requests;
/// false when it finished first.
async fn sync_killed_after(world: &World, config: &std::path::Path, args: &[&str], after: usize) -> bool {
    let target = data_requests(world) + after;
    let mut child = command(config, args).stdout(std::process::Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while data_requests(world) < target {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(Instant::now() < deadline, "the sync made no progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed with SIGKILL: {status:?}");
    }
    true
}

/// The keys the simulators hold, per tracker: the truth a complete mirror has.
fn truth(world: &World) -> Vec<String> {
    let issues = world.jira.issues();
    let mut keys: Vec<String> =
        issues.iter().filter_map(|i| i["key"].as_str()).map(|k| format!("{JIRA}/{k}")).collect();
    for table in TABLES {
        let records = world.servicenow.snapshot(table);
        keys.extend(records.iter().filter_map(|r| r["number"].as_str()).map(|n| format!("{SN}/{n}")));
    }
    keys.sort();
    keys
}

fn mirrored(config: &std::path::Path) -> Vec<String> {
    let mirror = Mirror::open(&config.parent().unwrap().join("mirror")).unwrap();
    let mut keys: Vec<String> = items(&mirror).iter().map(|i| format!("{}/{}", i.tracker, i.key)).collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_sync_killed_at_varied_moments_resumes_to_the_same_mirror_as_an_uninterrupted_one() {
    // 3,000 issues are 30 search pages, split into created windows; the records fill several sys_id
    // ranges of each table. Two streams per tracker and slow answers keep each run going for seconds.
    let world = world(3_000, SEED, FaultSpec::default()).await;
    let (jira_items, sn_items) = world.counts();
    world.jira.faults().set(FaultSpec { latency: Duration::from_millis(60), ..FaultSpec::default() });
    world.servicenow.faults().set(FaultSpec { latency: Duration::from_millis(200), ..FaultSpec::default() });
    let tuning = Tuning { concurrency: 2, ..Tuning::default() };

    // The uninterrupted run, into its own mirror.
    let whole = tempfile::tempdir().unwrap();
    let whole_config = write_config(&world, whole.path(), &tuning);
    let before = data_requests(&world);
    ok(&whole_config, &["sync"]).await;
    let requests = data_requests(&world) - before;
    let truth = truth(&world);
    assert_eq!(truth.len(), jira_items + sn_items);
    assert_eq!(mirrored(&whole_config), truth);
    assert!(requests >= 40, "{requests} data requests");

    // The same first sync, killed at several points (a share of the requests a whole run makes: early,
    // mid-way, late), each run resuming what the previous one left; then run to its end.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&world, dir.path(), &tuning);
    let mut stored = Vec::new();
    for share in [0.15, 0.3, 0.25, 0.2] {
        let after = ((requests as f64 * share) as usize).max(1);
        assert!(sync_killed_after(&world, &config, &["sync"], after).await, "the run finished before {after} requests");
        stored.push(mirrored(&config).len());
    }
    eprintln!("stored after each kill: {stored:?} of {}", truth.len());
    assert!(stored.windows(2).all(|w| w[0] <= w[1]), "each run resumes: {stored:?}");
    assert!(stored[0] > 0 && *stored.last().unwrap() < truth.len(), "killed mid-way: {stored:?}");
    let last = ok(&config, &["sync"]).await;
    let pulled_last = pulled(&last.stdout, JIRA) + pulled(&last.stdout, SN);
    assert!(pulled_last < truth.len() - stored[2], "the last run resumes: {}", last.stdout);
    assert_eq!(mirrored(&config), truth, "nothing missed, nothing doubled");
    let (expected, got) = (export(&whole_config).await, export(&config).await);
    assert!(got == expected, "the resumed mirror differs from the uninterrupted one");

    // `sync --full` killed mid-way is resumed by the next `sync --full` rather than started over.
    assert!(sync_killed_after(&world, &config, &["sync", "--full"], requests / 2).await);
    let resumed = ok(&config, &["sync", "--full"]).await;
    let pulled_resumed = pulled(&resumed.stdout, JIRA) + pulled(&resumed.stdout, SN);
    assert!(pulled_resumed < truth.len(), "the full pull resumed: {}", resumed.stdout);
    assert!(export(&config).await == expected);
    // Nothing changed since: the next sync is one request per scope and pulls nothing.
    let before = data_requests(&world);
    let quiet = ok(&config, &["sync"]).await;
    assert_eq!(pulled(&quiet.stdout, JIRA) + pulled(&quiet.stdout, SN), 0, "{}", quiet.stdout);
    assert_eq!(data_requests(&world) - before, 1 + TABLES.len());
    world.shutdown().await;
}

/// The Basic credentials as they would appear in an `Authorization` header.
fn basic_header(user: &str, token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_names_the_tracker_and_what_to_check_without_printing_the_token() {
    let world = world(20, SEED, FaultSpec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&world, dir.path(), &Tuning::default());
    let wrong = "wrong-token-5f3a9c2e";
    write_token(dir.path(), wrong);

    // Trace logging on: not even the most verbose log may show the credentials.
    let run = twotrack(&config, &["-vv", "sync"]).await;
    assert_eq!(run.code(), Some(1), "a rejected token is a runtime failure:\n{}", run.all());
    for tracker in [JIRA, SN] {
        let expected = format!("{tracker}: authentication failed (HTTP 401)");
        assert!(run.stderr.contains(&expected), "stderr lacks {expected:?}:\n{}", run.stderr);
        let summary = run.stdout.lines().find(|l| l.starts_with(tracker)).unwrap_or_default();
        assert!(summary.contains("FAILED") && summary.contains(&expected), "summary of {tracker}: {summary:?}");
    }
    assert!(run.stderr.contains("Check the user and token"), "stderr does not say what to check:\n{}", run.stderr);
    let (user, _) = world.basic();
    for secret in [wrong.to_string(), basic_header(&user, wrong)] {
        assert!(!run.all().contains(&secret), "the output shows a credential ({secret}):\n{}", run.all());
    }
    assert_eq!(world.jira.log().count("POST", JIRA_SEARCH), 0, "no search once the credentials were rejected");
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_online_says_ok_or_what_to_check_per_tracker() {
    let world = world(20, SEED, FaultSpec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&world, dir.path(), &Tuning::default());

    let run = ok(&config, &["config", "check", "--online"]).await;
    let line = |out: &str, tracker: &str| {
        out.lines().find(|l| l.split_whitespace().next() == Some(tracker)).unwrap_or_default().to_string()
    };
    let jira = line(&run.stdout, JIRA);
    assert!(jira.contains(" OK ") && jira.contains("Jira Cloud") && jira.contains("Twotrack Integration"), "{jira:?}");
    let sn = line(&run.stdout, SN);
    assert!(sn.contains(" OK ") && sn.contains("ServiceNow"), "{sn:?}");

    // A rejected token: both FAILED, each saying to check the credentials; the token is not printed.
    let wrong = "wrong-token-77ab01";
    write_token(dir.path(), wrong);
    let run = twotrack(&config, &["config", "check", "--online"]).await;
    assert_eq!(run.code(), Some(1), "{}", run.all());
    for tracker in [JIRA, SN] {
        let l = line(&run.stdout, tracker);
        assert!(l.contains("FAILED") && l.contains("HTTP 401") && l.contains("the token in [tracker.auth]"), "{l:?}");
    }
    assert!(!run.all().contains(wrong), "the token was printed:\n{}", run.all());
    let (_, token) = world.basic();
    write_token(dir.path(), &token);

    // A wrong flavour, and a tracker nobody listens at: each says which setting to look at.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let text = std::fs::read_to_string(&config).unwrap();
    let broken = text
        .replacen("kind = \"jira\"\n", "kind = \"jira\"\nflavour = \"datacenter\"\n", 1)
        .replace(&world.servicenow.base_url(), &nowhere);
    assert!(broken.contains("datacenter") && broken.contains(&nowhere));
    std::fs::write(&config, broken).unwrap();
    let started = Instant::now();
    let run = twotrack(&config, &["config", "check", "--online"]).await;
    assert_eq!(run.code(), Some(1), "{}", run.all());
    let jira = line(&run.stdout, JIRA);
    assert!(jira.contains("FAILED") && jira.contains("flavour"), "{jira:?}");
    let sn = line(&run.stdout, SN);
    assert!(
        sn.contains("FAILED") && sn.contains(&format!("cannot reach {nowhere}")) && sn.contains("base_url"),
        "{sn:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "an unreachable tracker took {:?}", started.elapsed());
    world.shutdown().await;
}
