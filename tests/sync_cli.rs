//! `twotrack sync` and `twotrack config check --online` as a user runs them: the binary as a child process
//! against the simulators in the test process.
//! - A sync killed with SIGKILL mid-way and run again yields the same mirror as an uninterrupted one.
//! - A rejected token gives a message naming the tracker and what to check, and the token is not printed.
//! - `config check --online` says OK per tracker, or FAILED with the tracker and what to check.

mod sync_support;

use std::time::{Duration, Instant};

use base64::Engine as _;
use sync_support::*;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_mid_way_and_run_again_yields_the_same_mirror_as_an_uninterrupted_one() {
    // 2,000 issues are 20 search pages; the records take about 8 list requests. With the latencies below
    // each tracker's sync takes over a second, so both can be caught in the middle, late enough for the
    // mirror to have written some pages to disk (sled flushes every half second) and early enough for
    // neither to have finished.
    let world = world(2_000, SEED, FaultSpec::default()).await;
    let (jira_items, sn_items) = world.counts();
    // ServiceNow pulls its tables side by side, a round of pages at a time: slow rounds keep it mid-way
    // while Jira's pages go one after the other.
    world.jira.faults().set(FaultSpec { latency: Duration::from_millis(100), ..FaultSpec::default() });
    world.servicenow.faults().set(FaultSpec { latency: Duration::from_millis(1500), ..FaultSpec::default() });
    let (jira_log, sn_log) = (world.jira.log(), world.servicenow.log());
    let lists = || table_requests(&sn_log).iter().map(|(_, n)| n).sum::<usize>();

    // The uninterrupted run, into its own mirror.
    let whole = tempfile::tempdir().unwrap();
    let whole_config = write_config(&world, whole.path(), &Tuning::default());
    ok(&whole_config, &["sync"]).await;
    let (jira_pages, sn_pages) = (jira_log.count("POST", JIRA_SEARCH), lists());
    assert!(jira_pages >= 20 && sn_pages >= 8, "{jira_pages} searches, {sn_pages} table reads");
    jira_log.clear();
    sn_log.clear();

    // The interrupted run: killed once Jira is two thirds and ServiceNow a third through its pages.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&world, dir.path(), &Tuning::default());
    let mut child = command(&config, &["sync"]).stdout(std::process::Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while jira_log.count("POST", JIRA_SEARCH) < jira_pages * 2 / 3 || lists() < sn_pages / 3 {
        assert!(child.try_wait().unwrap().is_none(), "the sync finished before it could be killed mid-way");
        assert!(Instant::now() < deadline, "the sync made no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed with SIGKILL: {status:?}");
    }
    let (jira_stored, sn_stored) = {
        let mirror = Mirror::open(&dir.path().join("mirror")).unwrap();
        (mirror.count(Some(JIRA)).unwrap() as usize, mirror.count(Some(SN)).unwrap() as usize)
    };
    eprintln!("killed: jira {jira_stored} of {jira_items}, servicenow {sn_stored} of {sn_items} stored");
    assert!(
        jira_stored > 0 && jira_stored < jira_items && sn_stored < sn_items,
        "killed mid-way: jira {jira_stored} of {jira_items}, servicenow {sn_stored} of {sn_items} stored"
    );

    let resumed = ok(&config, &["sync"]).await;
    let resumed_pulled = pulled(&resumed.stdout, JIRA);
    assert!(
        resumed_pulled < jira_items,
        "the second run resumes from the stored cursor instead of pulling all {jira_items} issues again: {}",
        resumed.stdout
    );
    let (expected, got) = (export(&whole_config).await, export(&config).await);
    assert_eq!(got.len(), jira_items + sn_items);
    assert!(got == expected, "the resumed mirror differs from the uninterrupted one");
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
